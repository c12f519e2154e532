package browser

import (
	"context"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/probes"
)

// BenchmarkLaunch is the cost of starting and stopping a browser.
func BenchmarkLaunch(b *testing.B) {
	sharedBrowser(b)
	for b.Loop() {
		br, err := Launch(context.Background(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		_ = br.Close()
	}
}

// BenchmarkInteropConnected reports the time from the start of the page's
// call to "connected" (goal ≤ 500 ms), with all candidates and relay-only.
func BenchmarkInteropConnected(b *testing.B) {
	br := sharedBrowser(b)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, bc := range []struct {
		name  string
		relay *probes.Target
	}{
		{"all", nil},
		{"relay-udp", &probes.Target{Server: srv.Servers()[1], Transport: probes.UDP}},
		{"relay-tcp", &probes.Target{Server: srv.Servers()[1], Transport: probes.TCP}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var connected, maxConnected float64
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				m := Interop(ctx, br, InteropConfig{Relay: bc.relay, Duration: 100 * time.Millisecond, Messages: 1})
				cancel()
				if m.Err != nil {
					b.Fatal(m.Err)
				}
				c := m.Metrics["connected_ms"]
				connected += c
				maxConnected = max(maxConnected, c)
			}
			b.ReportMetric(connected/float64(b.N), "connected_ms")
			b.ReportMetric(maxConnected, "max_connected_ms")
		})
	}
}
