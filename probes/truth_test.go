package probes_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// The truth tests inject known conditions into a simulated network and
// check that the reported numbers match them. They run one call at a
// time: on a busy two-core machine, concurrent calls starve each other and
// the scheduling delay shows up as jitter and RTT that were not injected.

const truthSample = 2500 * time.Millisecond

// audioOver runs the audio probe over a simulated network.
func audioOver(t *testing.T, spec string) probes.Measurement {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := probes.Media(ctx, probes.MediaConfig{Pair: simulated(t, spec), Kind: webrtc.RTPCodecTypeAudio, Duration: truthSample})
	if m.Err != nil {
		t.Fatalf("media over %q: %v", spec, m.Err)
	}
	return m
}

func TestTruthRTT(t *testing.T) {
	testenv.CheckGoroutines(t)
	// The simulator itself costs time: every hop is a goroutine hand-off
	// and a timer wake-up, which on a loaded two-core machine add up to a
	// few ms per round trip. Measure that cost first, over the same
	// network with a token 1 ms delay (so the timers are involved), and
	// compare each delay against 2 x one-way + that baseline.
	base := audioOver(t, "delay=1ms").Metrics["rtt_min_ms"] - 2
	t.Logf("simulator baseline RTT %.3f ms", base)
	for _, oneWay := range []time.Duration{10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		t.Run(oneWay.String(), func(t *testing.T) {
			m := audioOver(t, fmt.Sprintf("delay=%s", oneWay))
			injected := 2 * float64(oneWay) / float64(time.Millisecond)
			want := injected + base
			t.Logf("rtt min %v median %v max %v (%v samples), ice %v", m.Metrics["rtt_min_ms"], m.Metrics["rtt_ms"], m.Metrics["rtt_max_ms"], m.Metrics["rtt_samples"], m.Metrics["ice_rtt_ms"])
			// The fastest round trip is the path's: ±5 % or ±2 ms.
			if got, ok := m.Metrics["rtt_min_ms"]; !ok || math.Abs(got-want) > math.Max(0.05*injected, 2) {
				t.Errorf("rtt_min_ms = %v (present %v), want %v (2 x %s + %.3f baseline) ± 5%% or 2 ms", got, ok, want, oneWay, base)
			}
			// Medians also carry every stall of the machine (hundreds of ms
			// on a loaded two-core box), so only their floor is held: no
			// round trip can beat the path.
			for _, k := range []string{"rtt_ms", "ice_rtt_ms"} {
				if got, ok := m.Metrics[k]; !ok || got < want-math.Max(0.05*injected, 2) {
					t.Errorf("%s = %v (present %v), want at least the path's %v", k, got, ok, want)
				}
			}
		})
	}
}

func TestTruthLoss(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, loss := range []float64{0, 2, 5, 10, 20} {
		t.Run(fmt.Sprint(loss), func(t *testing.T) {
			m := audioOver(t, fmt.Sprintf("delay=5ms,loss=%v%%", loss))
			t.Logf("loss_pct %v (rtcp_loss_pct %v) for %v%% injected", m.Metrics["loss_pct"], m.Metrics["rtcp_loss_pct"], loss)
			if got := m.Metrics["loss_pct"]; math.Abs(got-loss) > 1.5 {
				t.Errorf("loss_pct = %v, want %v ± 1.5", got, loss)
			}
		})
	}
}

// TestTruthTrends: jitter rises with injected jitter, MOS falls as loss
// rises (each compared with the previous, milder condition).
func TestTruthTrends(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, tc := range []struct {
		metric string
		specs  []string
		rising bool
	}{
		// Steps well apart: the machine's own scheduling noise (several ms
		// under the race detector) sits under every reading.
		{"jitter_ms", []string{"delay=20ms", "delay=20ms,jitter=40ms", "delay=20ms,jitter=120ms"}, true},
		{"mos", []string{"delay=20ms", "delay=20ms,loss=5%", "delay=20ms,loss=15%"}, false},
	} {
		t.Run(tc.metric, func(t *testing.T) {
			got := make([]float64, len(tc.specs))
			for i, spec := range tc.specs {
				got[i] = audioOver(t, spec).Metrics[tc.metric]
			}
			t.Logf("%s over %v = %v", tc.metric, tc.specs, got)
			for i := 1; i < len(got); i++ {
				if tc.rising && got[i] <= got[i-1] || !tc.rising && got[i] >= got[i-1] {
					t.Errorf("%s over %v = %v: want it to %s with each step", tc.metric, tc.specs, got, map[bool]string{true: "rise", false: "fall"}[tc.rising])
				}
			}
		})
	}
}
