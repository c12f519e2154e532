package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestCallThresholds(t *testing.T) {
	audio, video := mediaChecks()[0], mediaChecks()[1]
	clean := map[string]float64{"loss_pct": 0, "jitter_ms": 2, "rtt_ms": 40, "mos": 4.4, "fps": 30}
	with := func(k string, v float64) map[string]float64 {
		m := map[string]float64{}
		for key, val := range clean {
			m[key] = val
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		check   *Check
		metrics map[string]float64
		want    Status
	}{
		{"clean audio", audio, clean, Pass},
		{"audio 2% loss", audio, with("loss_pct", 2), Warn},
		{"audio 6% loss", audio, with("loss_pct", 6), Fail},
		{"audio mos 3.4", audio, with("mos", 3.4), Warn},
		{"audio mos 3.0", audio, with("mos", 3.0), Fail},
		{"audio jitter 40", audio, with("jitter_ms", 40), Warn},
		{"audio rtt 900", audio, with("rtt_ms", 900), Fail},
		{"video 15 fps", video, with("fps", 15), Warn},
		{"video 5 fps", video, with("fps", 5), Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.check.Judge(Subject{Name: "x"}, probes.Measurement{Metrics: tc.metrics}, time.Second, tc.check.Thresholds)
			if r.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", r.Status, tc.want, r.Error)
			}
			if r.Status != Pass && r.Advice == "" {
				t.Error("no advice for a result that is not pass")
			}
		})
	}
}

// TestCallChecksEmbedded runs the ice, media and datachannel checks the way
// `rtcprobe` with no arguments does, against the embedded server.
func TestCallChecksEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	selected := MustSelect(Catalog(), "ice,media,datachannel")
	p := &Plan{Servers: srv.Servers(), Checks: selected, Settings: config.Settings{Timeout: 30 * time.Second, MediaDuration: time.Second}}
	results := Run(context.Background(), p, nil)
	seen := map[string]int{}
	for _, r := range results {
		seen[r.CheckID]++
		// config.Media jitter on loopback is the machine's scheduling noise; on a
		// busy machine it can reach the warn level, never fail.
		ok := r.Status == Pass || r.Status == Warn && strings.HasPrefix(r.CheckID, "media.") && strings.Contains(r.Error, "jitter_ms")
		if !ok {
			t.Errorf("%s on %s: %s: %s", r.CheckID, r.Target, r.Status, r.Error)
		}
	}
	for id, n := range map[string]int{"ice.all": 1, "ice.relay": 2, "media.audio": 1, "media.video": 1, "datachannel.reliable": 1} {
		if seen[id] != n {
			t.Errorf("%s ran %d times, want %d", id, seen[id], n)
		}
	}
}

func TestSimulatedSymmetricNATsNeedRelay(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, tc := range []struct {
		spec string
		want Status
	}{
		{"nat=symmetric,turn=off", Fail},
		{"nat=symmetric", Pass},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			spec, err := netsim.ParseSpec(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			all := iceChecks()[0]
			p := &Plan{Checks: []*Check{all}, Settings: config.Settings{CheckTimeout: 5 * time.Second, Simulate: &spec}}
			results := Run(context.Background(), p, nil)
			if len(results) != 1 {
				t.Fatalf("%d results", len(results))
			}
			r := results[0]
			if r.Status != tc.want {
				t.Fatalf("status %s, want %s (%s)", r.Status, tc.want, r.Error)
			}
			if tc.want == Fail && !strings.Contains(r.Advice, "need a relay") {
				t.Errorf("advice %q does not say a relay is needed", r.Advice)
			}
			if tc.want == Pass && r.Metrics["selected_relay"] != 1 {
				t.Errorf("connected without the relay between symmetric NATs: %v", r.Evidence)
			}
		})
	}
}
