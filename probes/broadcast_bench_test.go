package probes_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/probes"
)

// BenchmarkBroadcast publishes once to the embedded fan-out and plays to
// 10 and 50 viewers at once on loopback for 5 s, reporting the
// per-viewer spread (make bench; the figures go in the README). The
// issue's bar: p95 loss ≤ 1 % at 50 viewers.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			srv, err := fanout.Start(fanout.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				m := probes.Broadcast(ctx, probes.BroadcastConfig{
					MediaServerConfig: probes.MediaServerConfig{WHIP: probes.Endpoint{URL: srv.WHIP("b")}, WHEP: probes.Endpoint{URL: srv.WHEP("b")}, Duration: 5 * time.Second},
					Viewers:           n,
				})
				cancel()
				if m.Err != nil {
					b.Fatal(m.Err)
				}
				for _, k := range []string{"viewers_connected", "loss_p50_pct", "loss_p95_pct", "loss_max_pct", "first_frame_p95_ms", "jitter_p95_ms", "fps_p5", "bitrate_p5_kbps"} {
					b.ReportMetric(m.Metrics[k], k)
				}
			}
		})
	}
}
