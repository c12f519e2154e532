package probes

import (
	"context"
	"fmt"
	"time"
)

// ramp runs a load in rising steps (viewers of a broadcast, calls through
// a TURN server) until one does not hold, and folds the steps into m:
// each step is a sample of the series, the last step run gives the
// metrics, and "<unit>_held" is the largest count that held. Without a
// ramp there is one step, whose error is m's.
type ramp struct {
	steps []int
	on    bool
	held  func(Measurement) bool
	unit  string // "viewers", "calls"
	why   string // why a step did not hold, when it had no error
	// all runs every step even after one did not hold (held still
	// counts only the steps before it).
	all bool
}

// run calls step for each count; step returns skip when it did not run
// (no time left), which ends the ramp.
func (r ramp) run(ctx context.Context, m *Measurement, step func(i, n int) (sm Measurement, skip bool, err error)) {
	held, ran, broke := 0, false, false
	var (
		last    Measurement
		lastErr error
	)
	for i, n := range r.steps {
		sm, skip, err := step(i, n)
		if skip {
			break
		}
		ok := err == nil && (r.held == nil || r.held(sm))
		if r.on {
			m.Series = append(m.Series, Sample{At: time.Now(), Metrics: sm.Metrics})
		}
		last, lastErr, ran = sm, err, true
		if !ok && !broke {
			broke = true
			if r.on {
				why := r.why
				if err != nil {
					why = err.Error()
				}
				m.AddEvidence("ramp", fmt.Sprintf("held up to %d %s; at %d: %s", held, r.unit, n, why))
			}
		}
		if broke && !r.all {
			break
		}
		if !broke {
			held = n
		}
		if ctx.Err() != nil {
			break
		}
	}
	// The last step run gives the metrics however the ramp ended: at a
	// step that did not hold, at the last count, or cut short by the
	// deadline.
	if ran {
		for k, v := range last.Metrics {
			m.SetMetric(k, v)
		}
		m.Evidence = append(m.Evidence, last.Evidence...)
		if !r.on || held == 0 {
			m.Err = lastErr
		}
	}
	if r.on {
		m.SetMetric(r.unit+"_held", float64(held))
	}
}
