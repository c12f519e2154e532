package probes

import (
	"context"
	"errors"
	"testing"
)

// A ramp that runs out of time after steps that held keeps the figures
// of the last step run: the check judges them.
func TestRampKeepsLastStepWhenCutShort(t *testing.T) {
	for _, tc := range []struct {
		name      string
		steps     []int
		stopAt    int // the step that is skipped (no time left)
		failAt    int // the step that does not hold; -1 none
		wantHeld  float64
		wantLoss  float64
		wantError bool
	}{
		{name: "cut short", steps: []int{1, 2, 4}, stopAt: 2, failAt: -1, wantHeld: 2, wantLoss: 2},
		{name: "every step held", steps: []int{1, 2, 4}, stopAt: -1, failAt: -1, wantHeld: 4, wantLoss: 4},
		{name: "degraded", steps: []int{1, 2, 4}, stopAt: -1, failAt: 1, wantHeld: 1, wantLoss: 2},
		{name: "first step failed", steps: []int{1, 2, 4}, stopAt: -1, failAt: 0, wantHeld: 0, wantLoss: 1, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Measurement
			r := ramp{steps: tc.steps, on: true, unit: "viewers", held: func(sm Measurement) bool { return sm.Metrics["ok"] == 1 }}
			r.run(context.Background(), &m, func(i, n int) (Measurement, bool, error) {
				if i == tc.stopAt {
					return Measurement{}, true, nil
				}
				var sm Measurement
				sm.SetMetric("loss_pct", float64(n))
				sm.SetMetric("ok", 1)
				if i == tc.failAt {
					sm.SetMetric("ok", 0)
					if i == 0 {
						return sm, false, errors.New("no viewer connected")
					}
				}
				return sm, false, nil
			})
			if got := m.Metrics["viewers_held"]; got != tc.wantHeld {
				t.Errorf("viewers_held %v, want %v", got, tc.wantHeld)
			}
			if got, ok := m.Metrics["loss_pct"]; !ok || got != tc.wantLoss {
				t.Errorf("loss_pct %v (present %v), want the last step's %v", got, ok, tc.wantLoss)
			}
			if (m.Err != nil) != tc.wantError {
				t.Errorf("error %v, want one: %v", m.Err, tc.wantError)
			}
		})
	}
}
