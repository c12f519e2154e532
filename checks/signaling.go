package checks

import (
	"context"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

func signalingChecks() []*Check {
	return []*Check{{
		ID:    "signaling.websocket",
		Title: "Signaling WebSocket reachability",
		Description: "Opens each ws:// or wss:// signaling URL step by step (DNS, TCP, proxy CONNECT, TLS with certificate " +
			"expiry, HTTP Upgrade 101, ping/pong), through HTTPS_PROXY or the proxy option when set, and says where it stops.",
		Metrics:   []string{"upgrade_ms", "ping_rtt_ms", "closed_by_server", "cert_days_left", "connect_ms", "tls_ms", "dns_ms", "proxy_used"},
		Sometimes: map[string]string{"cert_days_left": "wss://", "tls_ms": "wss://", "dns_ms": "a host name"},
		Timeout:   5 * time.Second,
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
		Advice: signalingAdvice,
		Needs:  "a signaling URL (ws:// or wss://)",
	}}
}
