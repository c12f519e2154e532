package engine

import (
	"context"
	"errors"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/report"
)

// maxIterations bounds a repeated run however the options combine.
const maxIterations = 10000

// Repeats reports whether the run's options ask for more than one
// iteration (--repeat above 1, or --duration).
func (r *Run) Repeats() bool {
	s := r.Plan.Settings
	return s.Repeat > 1 || s.SoakDuration > 0
}

// ExecuteRepeated runs the plan again and again: Repeat times, or until
// SoakDuration has passed, each iteration starting SoakInterval after
// the one before (at once when an iteration took longer). The report's
// Results are the last iteration's; Repeat holds every iteration and
// the pass rate, percentiles and flapping per check. Cancelling ctx ends
// the run with the iterations completed so far (an iteration cut short
// is left out, unless it is the only one). onIteration, when set, sees
// each iteration's number (from 1) and report as it completes.
func (r *Run) ExecuteRepeated(ctx context.Context, onResult func(result.Result), onIteration func(int, report.Report)) report.Report {
	s := r.Plan.Settings
	rp := &report.Repeat{Asked: s.Repeat, Interval: s.SoakInterval, Until: s.SoakDuration}
	if s.SoakDuration > 0 {
		rp.Asked = 0
	}
	start := time.Now()
	var last report.Report
	for i := 0; i < maxIterations; i++ {
		if s.SoakDuration == 0 && i >= max(1, s.Repeat) {
			break
		}
		if i > 0 {
			next := start.Add(time.Duration(i) * s.SoakInterval)
			if s.SoakDuration > 0 && !next.Before(start.Add(s.SoakDuration)) {
				break
			}
			if !sleepUntil(ctx, next) {
				break
			}
		}
		rep := r.Execute(ctx, onResult)
		if rep.Interrupted && len(rp.Iterations) > 0 {
			last.Interrupted = true
			break
		}
		rp.Iterations = append(rp.Iterations, report.Iteration{StartedAt: rep.StartedAt, Duration: rep.Duration, Results: rep.Results})
		last = rep
		if onIteration != nil {
			onIteration(i+1, rep)
		}
		if rep.Interrupted {
			break
		}
		if s.SoakDuration > 0 && time.Since(start) >= s.SoakDuration {
			break
		}
	}
	rp.Checks = report.Summarize(rp.Iterations)
	last.Repeat = rp
	if len(rp.Iterations) > 0 {
		last.StartedAt = rp.Iterations[0].StartedAt
	}
	last.Duration = time.Since(start)
	if errors.Is(ctx.Err(), context.Canceled) {
		last.Interrupted = true
	}
	return last
}

// sleepUntil waits until t or ctx's end; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
