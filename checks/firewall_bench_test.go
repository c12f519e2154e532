package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// BenchmarkFirewallMatrix runs firewall.matrix for 3 hosts × 6 cells
// (STUN and TURN over UDP and TCP on the TURN port, over TLS on the TLS
// port) with the default 2 s deadline: all answering (embedded
// servers on loopback) and all silently dropped (an address behind a
// DROP rule). The second must take about one deadline, not the sum.
func BenchmarkFirewallMatrix(b *testing.B) {
	sel := MustSelect(Catalog(), "firewall.matrix")
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
		// One embedded server per loopback address: its stun:, turn: and
		// turns: URIs make 6 cells (its DTLS URI is not probed).
		pool := x509.NewCertPool()
		p := &Plan{}
		for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
			srv, err := iceserver.Start(iceserver.Config{Host: host})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			pool.AppendCertsFromPEM(srv.CertPEM())
			p.Servers = append(p.Servers, srv.Servers()...)
		}
		// The embedded certificates name 127.0.0.1 whatever the address.
		p.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		bench(b, p, "cells_ok")
	})
	b.Run("all-dropped", func(b *testing.B) {
		hole := netlab.Blackhole(b)
		// Three blackholed hosts, each with turn: and turns: URIs.
		p := &Plan{}
		for _, host := range []string{hole, netlab.Blackhole(b), netlab.Blackhole(b)} {
			for _, uri := range []string{"turn:" + host + ":3478", "turns:" + host + ":443"} {
				s, err := probes.ParseServer(uri)
				if err != nil {
					b.Fatal(err)
				}
				s.Username, s.Password = "bench", "bench-password"
				p.Servers = append(p.Servers, s)
			}
		}
		bench(b, p, "cells_dropped")
	})
}
