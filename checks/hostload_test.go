package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestJudgeHostLoad: a frame rate of 0 measured while the CPUs were
// saturated is a warn that names the machine, not a fail that blames the
// browser; the same figure on a quiet machine fails as before; a broken
// loss threshold keeps its verdict whatever the load.
func TestJudgeHostLoad(t *testing.T) {
	c := catalogCheck(t, "stun.udp")
	loop := catalogCheck(t, "browser.loopback")
	busy := probes.HostLoad{WaitPct: 80, Took: 3 * time.Second, Known: true}
	quiet := probes.HostLoad{WaitPct: 20, Took: 3 * time.Second, Known: true}
	judge := func(c *Check, metrics map[string]float64, host probes.HostLoad) Result {
		return c.Judge(Subject{Name: "x"}, probes.Measurement{Metrics: metrics, Host: host}, time.Second, c.Thresholds)
	}
	fps := map[string]float64{"fps": 0}
	if r := judge(loop, fps, busy); r.Status != Warn || !r.HostSaturated || !strings.Contains(r.Advice, "saturated") ||
		evidenceOf(r, "host_cpu") == "" {
		t.Errorf("fps 0 on a saturated machine: %s %q %v", r.Status, r.Advice, r.Evidence)
	}
	if r := judge(loop, fps, quiet); r.Status != Fail || r.HostSaturated || strings.Contains(r.Advice, "saturated") {
		t.Errorf("fps 0 on a quiet machine: %s %q", r.Status, r.Advice)
	}
	if r := judge(loop, fps, probes.HostLoad{WaitPct: 95}); r.Status != Fail || r.HostSaturated {
		t.Errorf("fps 0 where the load is not known: %s", r.Status)
	}
	// The thresholds' edges: 60 % waiting, or 20 % steal.
	for _, h := range []probes.HostLoad{{WaitPct: 60, Known: true}, {WaitPct: 10, StealPct: 20, Known: true}} {
		if r := judge(loop, fps, h); !r.HostSaturated {
			t.Errorf("wait %v %%, steal %v %%: not judged saturated", h.WaitPct, h.StealPct)
		}
	}
	for _, h := range []probes.HostLoad{{WaitPct: 59.9, Known: true}, {WaitPct: 10, StealPct: 19.9, Known: true}} {
		if r := judge(loop, fps, h); r.HostSaturated {
			t.Errorf("wait %v %%, steal %v %%: judged saturated", h.WaitPct, h.StealPct)
		}
	}
	// Only a warn-level threshold broken (a round trip of 200 ms: warn
	// above 150, fail above 400): still the machine's, said so.
	if r := judge(c, map[string]float64{"loss_pct": 0, "rtt_p95_ms": 200}, busy); r.Status != Warn || !r.HostSaturated {
		t.Errorf("a warn-level round trip on a saturated machine: %s, saturated %v", r.Status, r.HostSaturated)
	}
	// Frozen frames: the camera's pipeline starved, not the camera.
	cam := catalogCheck(t, "browser.video.quality")
	if r := judge(cam, map[string]float64{"frozen_frames_pct": 80, "fps": 30}, busy); r.Status != Warn || !r.HostSaturated {
		t.Errorf("frozen frames on a saturated machine: %s", r.Status)
	}
	loss := map[string]float64{"loss_pct": 60, "rtt_p95_ms": 1000}
	if r := judge(c, loss, busy); r.Status != Fail || r.HostSaturated {
		t.Errorf("60 %% loss on a saturated machine: %s (loss is no CPU's doing)", r.Status)
	}
	if r := judge(c, map[string]float64{"loss_pct": 0, "rtt_p95_ms": 1000}, busy); r.Status != Warn || !r.HostSaturated {
		t.Errorf("a slow round trip on a saturated machine: %s", r.Status)
	}
}

// TestJudgeLossWhileThisHostDropped: a loss measured while this machine's
// kernel dropped UDP datagrams for full socket buffers cannot be told from
// the network's: a warn naming the drops, saturated or not. No drops (or
// drops unknown) keep the fail; so does a broken threshold the machine
// does not explain (loss beside a refusal count, say).
func TestJudgeLossWhileThisHostDropped(t *testing.T) {
	turn := catalogCheck(t, "turn.udp")
	judge := func(metrics map[string]float64, host probes.HostLoad) Result {
		return turn.Judge(Subject{Name: "x"}, probes.Measurement{Metrics: metrics, Host: host}, time.Second, turn.Thresholds)
	}
	loss := map[string]float64{"loss_pct": 15, "loss_ab_pct": 25, "loss_ba_pct": 5, "rtt_p95_ms": 2}
	dropped := probes.HostLoad{WaitPct: 10, Took: time.Second, Known: true, UDPDrops: 3, DropsKnown: true}
	r := judge(loss, dropped)
	if r.Status != Warn || !r.HostSaturated || !strings.Contains(evidenceOf(r, "host_udp_drops"), "dropped 3 UDP datagrams") ||
		!strings.Contains(r.Advice, "cannot be told from the network's") || evidenceOf(r, "host_cpu") != "" {
		t.Errorf("loss while this host dropped 3: %s %q %v", r.Status, r.Advice, r.Evidence)
	}
	for name, h := range map[string]probes.HostLoad{
		"no drops":      {WaitPct: 10, Known: true, DropsKnown: true},
		"drops unknown": {WaitPct: 10, Known: true, UDPDrops: 3},
	} {
		if r := judge(loss, h); r.Status != Fail || r.HostSaturated {
			t.Errorf("%s: %s, want the loss's fail", name, r.Status)
		}
	}
	// Loss and a slow round trip on a saturated machine that dropped: both
	// explained, both said.
	busy := dropped
	busy.WaitPct = 80
	slow := map[string]float64{"loss_pct": 15, "loss_ab_pct": 25, "loss_ba_pct": 5, "rtt_p95_ms": 819}
	if r := judge(slow, busy); r.Status != Warn || evidenceOf(r, "host_cpu") == "" || evidenceOf(r, "host_udp_drops") == "" {
		t.Errorf("loss and rtt on a saturated machine that dropped: %s %v", r.Status, r.Evidence)
	}
	// Data-channel messages lost (a count, "lost") are a loss too.
	call := catalogCheck(t, "browser.interop")
	dc := call.Judge(Subject{Name: "x"}, probes.Measurement{Metrics: map[string]float64{"dc_lost": 3}, Host: dropped}, time.Second, call.Thresholds)
	if dc.Status != Warn || evidenceOf(dc, "host_udp_drops") == "" {
		t.Errorf("3 data-channel messages lost while this host dropped: %s %v", dc.Status, dc.Evidence)
	}
	// The slow round trip on a quiet machine is not the machine's doing.
	if r := judge(slow, dropped); r.Status != Fail || r.HostSaturated {
		t.Errorf("loss and an 819 ms round trip on a quiet machine that dropped: %s, want fail", r.Status)
	}
}

// TestSaturatedWarningDoesNotFailTheRun: with fail-on warn, a warning that
// only says the machine was saturated leaves the run passing; any other
// warning, or a fail, still fails it.
func TestSaturatedWarningDoesNotFailTheRun(t *testing.T) {
	saturated := Result{Status: Warn, HostSaturated: true}
	other := Result{Status: Warn}
	failed := Result{Status: Fail, HostSaturated: true}
	if saturated.FailsRun(Warn) || RunFails([]Result{saturated, {Status: Pass}}, Warn) {
		t.Error("a saturated machine's warning fails the run")
	}
	if !other.FailsRun(Warn) || !RunFails([]Result{saturated, other}, Warn) {
		t.Error("an ordinary warning no longer fails a fail-on-warn run")
	}
	if !failed.FailsRun(Fail) || other.FailsRun(Fail) {
		t.Error("fail-on fail changed")
	}
}

// TestGatherTimeoutsOnASaturatedMachine: browser ICE gathering whose only
// errors are 701 from a TURN server that did give a relay is time on a
// saturated machine (a warn naming it), and a failure on a quiet one; any
// other error code, or no candidate from the server, fails whatever the
// load.
func TestGatherTimeoutsOnASaturatedMachine(t *testing.T) {
	c := catalogCheck(t, "browser.ice")
	busy := probes.HostLoad{WaitPct: 90, Took: 3 * time.Second, Known: true}
	quiet := probes.HostLoad{WaitPct: 10, Took: 3 * time.Second, Known: true}
	server, err := probes.ParseServer("turn:127.0.0.1:3478")
	if err != nil {
		t.Fatal(err)
	}
	judge := func(relay float64, codes []int, host probes.HostLoad) Result {
		s := &browser.ICESummary{}
		for _, code := range codes {
			s.Errors = append(s.Errors, browser.ICECandidateError{ErrorCode: code})
		}
		m := probes.Measurement{Metrics: map[string]float64{"host": 1, "srflx": 0, "relay": relay, "errors": float64(len(codes)),
			"complete": 0, "gather_ms": 3356}, Host: host, Summary: s}
		return c.Judge(Subject{Name: "x", Target: probes.Target{Server: server}}, m, time.Second, c.Thresholds)
	}
	for _, tc := range []struct {
		name  string
		relay float64
		codes []int
		host  probes.HostLoad
		want  Status
	}{
		{"701 with a relay, saturated", 1, []int{701}, busy, Warn},
		{"701 with a relay, quiet", 1, []int{701}, quiet, Fail},
		{"701 without a relay, saturated", 0, []int{701}, busy, Fail},
		{"401 with a relay, saturated", 1, []int{701, 401}, busy, Fail},
	} {
		if r := judge(tc.relay, tc.codes, tc.host); r.Status != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, r.Status, r.Error, tc.want)
		}
	}
}
