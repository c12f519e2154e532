package checks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

func signalingChecks() []*Check {
	return []*Check{{
		ID:    "signaling.websocket",
		Title: "Signaling WebSocket reachability",
		Description: "Opens each ws:// or wss:// signaling URL step by step (DNS, TCP, proxy CONNECT, TLS with certificate " +
			"expiry, HTTP Upgrade 101, ping/pong), through HTTPS_PROXY or the proxy option when set, and says where it stops.",
		Metrics: []string{"upgrade_ms", "ping_rtt_ms", "cert_days_left", "connect_ms", "tls_ms", "dns_ms", "proxy_used"},
		Timeout: 5 * time.Second,
		Thresholds: []Threshold{
			MustThreshold(Warn, "cert_days_left >= 14", "ACME clients renew 30 days ahead; under 14 days left means renewal is failing"),
			MustThreshold(Fail, "cert_days_left >= 1", "the certificate expires within a day: clients will refuse the connection"),
		},
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, u := range p.SignalingURLs {
				out = append(out, Subject{Name: probes.WebSocketName(u), URL: u})
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			return probes.WebSocket(ctx, s.URL, probes.WebSocketConfig{Proxy: p.Settings.Proxy, TLS: p.TLS})
		},
		Advice: func(_ Result, m probes.Measurement) string { return signalingAdvice(m.Err) },
		Needs:  "a signaling URL (ws:// or wss://)",
	}}
}

// signalingAdvice covers what is particular to WebSocket signaling; other
// errors get the generic advice.
func signalingAdvice(err error) string {
	var (
		proxy  *probes.ProxyError
		status *probes.HTTPStatusError
	)
	switch {
	case errors.As(err, &proxy) && proxy.Status != "":
		return fmt.Sprintf("The proxy %s refused to tunnel to %s (%s): ask its admin to allow CONNECT to that host and port (proxies often allow only 443), or run the signaling server on 443.", proxy.Proxy, proxy.Target, proxy.Status)
	case errors.As(err, &proxy):
		return fmt.Sprintf("The proxy %s could not be used: check the proxy setting or HTTPS_PROXY.", proxy.Proxy)
	case errors.As(err, &status) && status.Code == 426:
		return "The server wants another WebSocket version or subprotocol."
	case errors.As(err, &status):
		return "The server answered plain HTTP instead of switching to WebSocket: check the URL path, and that no proxy or load balancer on the way strips the Upgrade/Connection headers."
	}
	return ""
}
