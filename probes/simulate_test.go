package probes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// simulated returns the pair configuration for a simulated network.
func simulated(t testing.TB, spec string) probes.PairConfig {
	t.Helper()
	cfg, _ := simulatedLab(t, spec)
	return cfg
}

func simulatedLab(t testing.TB, spec string) (probes.PairConfig, *netsim.Lab) {
	t.Helper()
	s, err := netsim.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := netsim.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	return probes.PairConfig{ICEServers: lab.ICEServers(), Nets: lab.Nets()}, lab
}

// TestMediaNetworkCutMidSample: a call whose network goes away while
// media flows ends as a media-stage failure soon after, not at the
// deadline.
func TestMediaNetworkCutMidSample(t *testing.T) {
	testenv.CheckGoroutines(t)
	cfg, lab := simulatedLab(t, "delay=5ms")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Cut once media has flowed for a moment (the call connects in well
	// under a second here).
	timer := time.AfterFunc(1500*time.Millisecond, lab.Cut)
	defer timer.Stop()
	start := time.Now()
	m := probes.Media(ctx, probes.MediaConfig{Pair: cfg, Kind: webrtc.RTPCodecTypeAudio, Duration: 20 * time.Second})
	var ce *probes.ConnectError
	if !errors.As(m.Err, &ce) || ce.Stage != probes.StageMedia {
		t.Fatalf("err = %v, want a media-stage failure", m.Err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("noticed the cut after %s", took)
	}
	if len(m.Series) == 0 {
		t.Error("no samples from before the cut")
	}
}

func TestICEThroughNATs(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, tc := range []struct {
		spec      string
		ok        bool
		wantRelay float64
	}{
		{"nat=none,turn=off", true, 0},
		{"nat=full-cone,turn=off", true, 0},
		{"nat=restricted/port-restricted,turn=off", true, 0},
		{"nat=symmetric/full-cone,turn=off", true, 0},
		{"nat=symmetric,turn=off", false, 0},
		{"nat=symmetric", true, 1},
		{"nat=symmetric/port-restricted", true, 1},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			cfg := simulated(t, tc.spec)
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			defer cancel()
			m := probes.ICE(ctx, cfg)
			if !tc.ok {
				var ce *probes.ConnectError
				if !errors.As(m.Err, &ce) || ce.Stage != probes.StageICE {
					t.Fatalf("err = %v, want an ICE-stage failure", m.Err)
				}
				if m.Metrics["candidates_relay"] != 0 || m.Metrics["candidates_srflx"] == 0 {
					t.Errorf("candidates %v: want srflx and no relay", m.Metrics)
				}
				return
			}
			if m.Err != nil {
				t.Fatalf("ICE: %v (evidence %v)", m.Err, m.Evidence)
			}
			if got := m.Metrics["selected_relay"]; got != tc.wantRelay {
				t.Errorf("selected_relay = %v, want %v (%v)", got, tc.wantRelay, m.Evidence)
			}
		})
	}
}
