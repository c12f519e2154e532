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
}

// run calls step for each count; step returns skip when it did not run
// (no time left), which ends the ramp.
func (r ramp) run(ctx context.Context, m *Measurement, step func(i, n int) (sm Measurement, skip bool, err error)) {
	held := 0
	for i, n := range r.steps {
		sm, skip, err := step(i, n)
		if skip {
			break
		}
		ok := err == nil && (r.held == nil || r.held(sm))
		if r.on {
			m.Series = append(m.Series, Sample{At: time.Now(), Metrics: sm.Metrics})
		}
		if !ok || i == len(r.steps)-1 {
			for k, v := range sm.Metrics {
				m.SetMetric(k, v)
			}
			m.Evidence = append(m.Evidence, sm.Evidence...)
			if !r.on || held == 0 {
				m.Err = err
			}
		}
		if !ok {
			if r.on {
				why := r.why
				if err != nil {
					why = err.Error()
				}
				m.AddEvidence("ramp", fmt.Sprintf("held up to %d %s; at %d: %s", held, r.unit, n, why))
			}
			break
		}
		held = n
		if ctx.Err() != nil {
			break
		}
	}
	if r.on {
		m.SetMetric(r.unit+"_held", float64(held))
	}
}
