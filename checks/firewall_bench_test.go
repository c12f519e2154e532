package checks

import (
	"context"
	"fmt"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/internal/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// BenchmarkFirewallMatrix runs firewall.matrix for 3 servers × 5 cells
// with the default 2 s deadline: all answering (embedded servers on
// loopback) and all silently dropped (a blackholed address). The second
// must take about one deadline, not the sum of them.
func BenchmarkFirewallMatrix(b *testing.B) {
	check := func() *Check {
		sel, err := Select(Catalog(), "firewall.matrix")
		if err != nil {
			b.Fatal(err)
		}
		return sel[0]
	}()
	bench := func(b *testing.B, servers []probes.Server, ports []PortSpec, outcome string) {
		p := &Plan{Servers: servers, Checks: []*Check{check}, Options: Options{FirewallPorts: ports}}
		for b.Loop() {
			rs := Run(context.Background(), p, nil)
			cells := 0.0
			for _, r := range rs {
				cells += r.Metrics[outcome]
			}
			if len(rs) != 3 || cells != 15 {
				b.Fatalf("%d results, %v %s; want 3 and 15", len(rs), cells, outcome)
			}
		}
	}
	b.Run("all-answer", func(b *testing.B) {
		var ports []int
		var servers []probes.Server
		for i := range 5 {
			srv, err := embedded.Start(embedded.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			if i < 3 {
				servers = append(servers, srv.Servers()[0])
			} else {
				ports = append(ports, srv.Port())
			}
		}
		spec, err := ParsePorts(fmt.Sprintf("%d/udp,%d/tcp,%d/udp", ports[0], ports[0], ports[1]))
		if err != nil {
			b.Fatal(err)
		}
		bench(b, servers, spec, "cells_ok")
	})
	b.Run("all-dropped", func(b *testing.B) {
		hole := netlab.Blackhole(b)
		var servers []probes.Server
		for _, port := range []int{3478, 3479, 3480} {
			s, err := probes.ParseServer(fmt.Sprintf("stun:%s:%d", hole, port))
			if err != nil {
				b.Fatal(err)
			}
			servers = append(servers, s)
		}
		spec, err := ParsePorts("443/udp,443/tcp,5349/tls")
		if err != nil {
			b.Fatal(err)
		}
		bench(b, servers, spec, "cells_dropped")
	})
}
