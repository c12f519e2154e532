package exporter

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/result"
)

func TestPromNames(t *testing.T) {
	tests := []struct {
		group, metric string
		in            float64
		name          string
		out           float64
	}{
		{"turn", "rtt_median_ms", 12.5, "probe_turn_rtt_median_seconds", 0.0125},
		{"stun", "rtt_min_ms", 0.021, "probe_stun_rtt_min_seconds", 2.1e-05},
		{"turn", "loss_pct", 25, "probe_turn_loss_ratio", 0.25},
		{"media", "bitrate_kbps", 32, "probe_media_bitrate_bits_per_second", 32000},
		{"datachannel", "throughput_mbps", 1.5, "probe_datachannel_throughput_bits_per_second", 1.5e6},
		{"datachannel", "bytes", 4096, "probe_datachannel_bytes", 4096},
		{"signaling", "cert_days_left", 2, "probe_signaling_cert_remaining_seconds", 172800},
		{"media", "fps", 30, "probe_media_frames_per_second", 30},
		{"media", "nack_count", 3, "probe_media_nacks", 3},
		{"stun", "responses", 5, "probe_stun_responses", 5},
		{"browser", "res_640x480", 1, "probe_browser_res_640x480", 1},
	}
	for _, tt := range tests {
		name, v := promName(tt.group, tt.metric, tt.in)
		if name != tt.name || v != tt.out {
			t.Errorf("%s %s %v → %s %v, want %s %v", tt.group, tt.metric, tt.in, name, v, tt.name, tt.out)
		}
	}
}

// TestEveryCatalogueMetricIsNamed: every metric a check declares gets a
// Prometheus name without a non-base unit left in it.
func TestEveryCatalogueMetricIsNamed(t *testing.T) {
	seen := map[string]string{}
	for _, c := range checks.Catalog() {
		for _, m := range c.Metrics {
			name, _ := promName(c.Group(), m, 1)
			for _, bad := range []string{"_ms", "_pct", "_kbps", "_mbps", "_count", "_days"} {
				if len(name) >= len(bad) && name[len(name)-len(bad):] == bad {
					t.Errorf("%s %s → %s keeps %s", c.ID, m, name, bad)
				}
			}
			if other, ok := seen[name]; ok && other != c.Group()+"."+m && result.Group(other) != c.Group() {
				t.Errorf("%s and %s.%s share the name %s", other, c.Group(), m, name)
			}
			seen[name] = c.Group() + "." + m
		}
	}
}
