package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// fakeCheck builds a check whose Run is given; it is the runner that is
// under test here, so the measurement is supplied directly.
func fakeCheck(id string, subjects int, run func(ctx context.Context, s Subject) probes.Measurement, th ...Threshold) *Check {
	return &Check{
		ID: id, Title: id, Metrics: []string{"rtt_p95_ms", "loss_pct"}, Thresholds: th,
		Subjects: func(*Plan) []Subject {
			var out []Subject
			for i := range subjects {
				out = append(out, Subject{Name: fmt.Sprintf("t%d", i)})
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, _ *Plan) probes.Measurement { return run(ctx, s) },
	}
}

func metrics(kv map[string]float64) probes.Measurement { return probes.Measurement{Metrics: kv} }

func TestJudge(t *testing.T) {
	th := []Threshold{
		MustThreshold(Warn, "rtt_p95_ms < 150", ""),
		MustThreshold(Fail, "rtt_p95_ms < 400", ""),
		MustThreshold(Warn, "loss_pct == 0", ""),
	}
	c := fakeCheck("x.y", 1, nil, th...)
	tests := []struct {
		name string
		m    probes.Measurement
		want Status
		msg  string
	}{
		{"pass", metrics(map[string]float64{"rtt_p95_ms": 20, "loss_pct": 0}), Pass, ""},
		{"warn", metrics(map[string]float64{"rtt_p95_ms": 200, "loss_pct": 0}), Warn, "rtt_p95_ms is 200, want < 150 (warn)"},
		{"fail beats warn", metrics(map[string]float64{"rtt_p95_ms": 500, "loss_pct": 20}), Fail, "want < 400 (fail)"},
		{"missing metric is not judged", metrics(map[string]float64{}), Pass, ""},
		{"error is fail", probes.Failed(&probes.RefusedError{Addr: "127.0.0.1:9", Transport: probes.UDP}), Fail, "refused UDP"},
		{"unsupported is skip", probes.Failed(fmt.Errorf("x: %w", probes.ErrUnsupported)), Skip, "unsupported"},
		{"internal is error", probes.Failed(fmt.Errorf("%w: boom", errInternal)), Error, "boom"},
	}
	for _, tt := range tests {
		r := c.Judge(Subject{Name: "t"}, tt.m, time.Millisecond, th)
		if r.Status != tt.want || !strings.Contains(r.Error, tt.msg) {
			t.Errorf("%s: status %s error %q, want %s containing %q", tt.name, r.Status, r.Error, tt.want, tt.msg)
		}
	}
	r := c.Judge(Subject{Name: "t"}, probes.Failed(&probes.RefusedError{Addr: "127.0.0.1:9", Transport: probes.UDP}), 0, th)
	if !strings.Contains(r.Advice, "nothing listens on UDP") || !strings.Contains(r.Advice, "server's host") {
		t.Errorf("refused advice = %q", r.Advice)
	}
}

func TestRunOrderDeadlinesAndFaults(t *testing.T) {
	testenv.CheckGoroutines(t)
	slowFirst := fakeCheck("a.slow", 3, func(ctx context.Context, s Subject) probes.Measurement {
		// Later subjects finish first: the output order must not care.
		d := map[string]time.Duration{"t0": 60 * time.Millisecond, "t1": 30 * time.Millisecond, "t2": 0}[s.Name]
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return metrics(map[string]float64{"rtt_p95_ms": 1})
	})
	hang := fakeCheck("b.hang", 1, func(ctx context.Context, _ Subject) probes.Measurement {
		<-ctx.Done()
		return probes.Failed(&probes.TimeoutError{Addr: "127.0.0.1:1", Transport: probes.UDP, After: 50 * time.Millisecond})
	})
	hang.Timeout = 50 * time.Millisecond
	boom := fakeCheck("c.panic", 1, func(context.Context, Subject) probes.Measurement { panic("kaboom") })

	p := &Plan{Checks: []*Check{slowFirst, hang, boom}, Settings: config.Settings{Concurrency: 2}}
	var seen []string
	start := time.Now()
	results := Run(context.Background(), p, func(r Result) { seen = append(seen, r.CheckID+"/"+r.Target) })
	if took := time.Since(start); took > time.Second {
		t.Errorf("run took %s", took)
	}
	var got []string
	for _, r := range results {
		got = append(got, fmt.Sprintf("%s/%s:%s", r.CheckID, r.Target, r.Status))
	}
	want := "a.slow/t0:pass a.slow/t1:pass a.slow/t2:pass b.hang/t0:fail c.panic/t0:error"
	if strings.Join(got, " ") != want {
		t.Errorf("results\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if len(seen) != 5 {
		t.Errorf("progress saw %d results, want 5", len(seen))
	}
	if !strings.Contains(results[4].Error, "kaboom") {
		t.Errorf("panic result error = %q", results[4].Error)
	}
}

// A probe that ignores its context must not hang the run: the runner
// gives up one grace period after the run's deadline.
func TestRunGivesUpOnStragglers(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := fakeCheck("a.stuck", 1, func(context.Context, Subject) probes.Measurement {
		<-release
		return probes.Measurement{}
	})
	p := &Plan{Checks: []*Check{stuck}, Settings: config.Settings{Timeout: 100 * time.Millisecond}}
	start := time.Now()
	results := Run(context.Background(), p, nil)
	if took := time.Since(start); took > 100*time.Millisecond+StragglerGrace+500*time.Millisecond {
		t.Errorf("run took %s", took)
	}
	if results[0].Status != Error || !strings.Contains(results[0].Error, "did not stop") {
		t.Errorf("straggler result = %+v", results[0])
	}
}

// An interrupted run (Ctrl-C) marks what it cut short as interrupted
// skips, not failures: the network was not at fault. A run that ran out
// of its own deadline fails what it could not start.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := fakeCheck("a.b", 2, func(ctx context.Context, _ Subject) probes.Measurement {
		return probes.Failed(ctx.Err())
	})
	for _, r := range Run(ctx, &Plan{Checks: []*Check{c}}, nil) {
		if r.Status != Skip || !r.Interrupted || !strings.Contains(r.Error, "interrupted") {
			t.Errorf("interrupted run: %s %q interrupted=%v", r.Status, r.Error, r.Interrupted)
		}
	}
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, r := range Run(expired, &Plan{Checks: []*Check{c}}, nil) {
		if r.Status != Fail || r.Interrupted || !strings.Contains(r.Error, "deadline") {
			t.Errorf("expired run: %s %q interrupted=%v", r.Status, r.Error, r.Interrupted)
		}
	}
}

func TestOverall(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{[]Status{Pass, Warn}, Warn},
		{[]Status{Pass, Skip}, Pass},
		{[]Status{Skip, Skip}, Skip},
		{[]Status{Warn, Fail, Pass}, Fail},
		{[]Status{Fail, Error}, Error},
		{nil, Pass},
	}
	for _, tt := range tests {
		var rs []Result
		for _, s := range tt.in {
			rs = append(rs, Result{Status: s})
		}
		if got := Overall(rs); got != tt.want {
			t.Errorf("Overall(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Exclusive checks start only when every other check has finished, and
// never overlap one another.
func TestRunExclusiveRunsAlone(t *testing.T) {
	var (
		mu      sync.Mutex
		running int
		overlap []string
	)
	track := func(name string, d time.Duration) func(context.Context, Subject) probes.Measurement {
		return func(ctx context.Context, s Subject) probes.Measurement {
			mu.Lock()
			running++
			if name == "x" && running > 1 {
				overlap = append(overlap, s.Name)
			}
			mu.Unlock()
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
			mu.Lock()
			running--
			mu.Unlock()
			return metrics(map[string]float64{})
		}
	}
	excl := fakeCheck("x.alone", 3, track("x", 20*time.Millisecond))
	excl.Exclusive = true
	// The exclusive check comes first in the catalogue: it must still wait.
	p := &Plan{Checks: []*Check{excl, fakeCheck("a.shared", 4, track("a", 40*time.Millisecond))}, Settings: config.Settings{Concurrency: 4}}
	results := Run(context.Background(), p, nil)
	if len(results) != 7 || results[0].CheckID != "x.alone" {
		t.Fatalf("results out of catalogue order: %v", results)
	}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s/%s: %s %s", r.CheckID, r.Target, r.Status, r.Error)
		}
	}
	if len(overlap) > 0 {
		t.Errorf("exclusive runs overlapped other checks: %v", overlap)
	}
}

func TestFailsRun(t *testing.T) {
	for _, tt := range []struct {
		s, failOn Status
		want      bool
	}{
		{Pass, Fail, false}, {Skip, Warn, false}, {Warn, Fail, false}, {Warn, Warn, true},
		{Fail, Fail, true}, {Error, Fail, true},
	} {
		if got := tt.s.FailsRun(tt.failOn); got != tt.want {
			t.Errorf("%s.FailsRun(%s) = %v, want %v", tt.s, tt.failOn, got, tt.want)
		}
	}
}

// A slow connection is blamed on gathering when gathering took the time
// (a STUN server that never answers), on the path otherwise.
func TestICESlowAdvice(t *testing.T) {
	slowGather := probes.Measurement{Metrics: map[string]float64{"gathering_ms": 4000, "connect_ms": 4010}}
	if a := iceAdvice(Result{Status: Warn}, slowGather); !strings.Contains(a, "did not answer") {
		t.Errorf("slow gathering advice = %q", a)
	}
	slowPath := probes.Measurement{Metrics: map[string]float64{"gathering_ms": 20, "connect_ms": 2500}}
	if a := iceAdvice(Result{Status: Warn}, slowPath); !strings.Contains(a, "long path") {
		t.Errorf("slow path advice = %q", a)
	}
}
