package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

func signalingChecks() []*Check {
	return []*Check{{
		ID:    "signaling.websocket",
		Title: "Signaling WebSocket reachability",
		Description: "Opens each ws:// or wss:// signaling URL step by step (DNS, TCP, proxy CONNECT, TLS with certificate " +
			"expiry, HTTP Upgrade 101, ping/pong), through HTTPS_PROXY or the proxy option when set, and says where it stops.",
		Metrics: []string{"upgrade_ms", "ping_rtt_ms", "closed_by_server", "cert_days_left", "connect_ms", "tls_ms", "dns_ms", "proxy_used"},
		Timeout: 5 * time.Second,
		Thresholds: []Threshold{
			MustThreshold(Warn, "cert_days_left >= 14", "ACME clients renew 30 days ahead; under 14 days left means renewal is failing"),
			MustThreshold(Fail, "cert_days_left >= 1", "the certificate expires within a day: clients will refuse the connection"),
			MustThreshold(Fail, "closed_by_server == 0", "a server that closes the WebSocket right after accepting it refused this client: no signaling goes through"),
		},
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, u := range p.SignalingURLs {
				out = append(out, Subject{Name: probes.WebSocketName(u), URL: u})
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			return probes.WebSocket(ctx, s.URL, probes.WebSocketConfig{Proxy: p.Settings.Proxy, TLS: p.TLS, Protocols: p.Settings.WSProtocols})
		},
		Advice: func(r Result, m probes.Measurement) string {
			if m.Err == nil && m.Metrics["closed_by_server"] == 1 {
				return closedAdvice(r.Target, m)
			}
			return signalingAdvice(r.Target, m.Err)
		},
		Needs: "a signaling URL (ws:// or wss://)",
	}}
}

// signalingAdvice covers what is particular to WebSocket signaling; other
// errors get the generic advice.
func signalingAdvice(target string, err error) string {
	var (
		proxy  *probes.ProxyError
		status *probes.HTTPStatusError
		head   *probes.HeadError
		tlsErr *probes.TLSPortError
	)
	switch {
	case errors.As(err, &tlsErr):
		return fmt.Sprintf("This port speaks TLS: use wss:// (%s), not ws://.", "wss"+strings.TrimPrefix(target, "ws"))
	case errors.As(err, &proxy) && proxy.Status != "":
		return fmt.Sprintf("The proxy %s refused to tunnel to %s (%s): ask its admin to allow CONNECT to that host and port (proxies often allow only 443), or run the signaling server on 443.", proxy.Proxy, proxy.Target, proxy.Status)
	case errors.As(err, &proxy):
		return fmt.Sprintf("The proxy %s could not be used: check the proxy setting or HTTPS_PROXY.", proxy.Proxy)
	case errors.As(err, &status) && status.Code == 426:
		return "The server wants another WebSocket version or subprotocol."
	case errors.As(err, &status):
		return "The server answered plain HTTP instead of switching to WebSocket: check the URL path, and that no proxy or load balancer on the way strips the Upgrade/Connection headers."
	case errors.As(err, &head):
		return "The answer to the Upgrade request is not HTTP that rtcprobe will read (" + head.What + "): the URL may point at another service, or something on the path answers in its place."
	}
	return ""
}

// closedAdvice: the server accepted the WebSocket, then closed it, often
// after a message that says why (PeerJS: "Invalid key provided").
func closedAdvice(target string, m probes.Measurement) string {
	said := ""
	if first := evidence(m, "first_message"); first != "" {
		said = " after sending " + first
	}
	return fmt.Sprintf("The server accepted the WebSocket and closed it at once (%s)%s: it refused this client. "+
		"Check what the URL carries besides %s: the key, id or token the server expects (PeerJS: ?key=…&id=…&token=…), and the path.", evidence(m, "close"), said, target)
}
