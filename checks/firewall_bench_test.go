package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/internal/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// BenchmarkFirewallMatrix runs firewall.matrix for 3 TURN servers × 6
// cells (STUN and TURN over UDP and TCP on the server's port, over TLS on
// a TLS port) with the default 2 s deadline: all answering (embedded
// servers on loopback) and all silently dropped (an address behind a
// DROP rule). The second must take about one deadline, not the sum.
func BenchmarkFirewallMatrix(b *testing.B) {
	sel, err := Select(Catalog(), "firewall.matrix")
	if err != nil {
		b.Fatal(err)
	}
	bench := func(b *testing.B, p *Plan, outcome string) {
		p.Checks = sel
		for b.Loop() {
			rs := Run(context.Background(), p, nil)
			n := 0.0
			for _, r := range rs {
				n += r.Metrics[outcome]
			}
			if len(rs) != 3 || n != 18 {
				b.Fatalf("%d results, %v %s; want 3 and 18: %+v", len(rs), n, outcome, rs)
			}
		}
	}
	b.Run("all-answer", func(b *testing.B) {
		// One credential for all three, so every server's cells may use
		// the first one's TLS port.
		key := turn.GenerateAuthKey("bench", embedded.Realm, "bench-password")
		auth := func(ra *turn.RequestAttributes) (string, []byte, bool) { return ra.Username, key, ra.Username == "bench" }
		pool := x509.NewCertPool()
		p := &Plan{}
		for range 3 {
			srv, err := embedded.Start(embedded.Config{AuthHandler: auth})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			pool.AppendCertsFromPEM(srv.CertPEM())
			s, err := probes.ParseServer(fmt.Sprintf("turn:127.0.0.1:%d", srv.Port()))
			if err != nil {
				b.Fatal(err)
			}
			s.Username, s.Password = "bench", "bench-password"
			p.Servers = append(p.Servers, s)
			if p.Options.FirewallPorts == nil {
				p.Options.FirewallPorts = []PortSpec{{Port: srv.TLSPort(), Transports: []probes.Transport{probes.TLS}}}
			}
		}
		p.Options.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		bench(b, p, "cells_ok")
	})
	b.Run("all-dropped", func(b *testing.B) {
		hole := netlab.Blackhole(b)
		p := &Plan{Options: Options{FirewallPorts: []PortSpec{{Port: 443, Transports: []probes.Transport{probes.TLS}}}}}
		for _, port := range []int{3478, 3479, 3480} {
			s, err := probes.ParseServer(fmt.Sprintf("turn:%s:%d", hole, port))
			if err != nil {
				b.Fatal(err)
			}
			s.Username, s.Password = "bench", "bench-password"
			p.Servers = append(p.Servers, s)
		}
		bench(b, p, "cells_dropped")
	})
}
