package engine_test

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/report"
)

// TestOutcomeOf: the one rule for whether a run failed, which the CLI's
// exit code, the exporter's probe_success and the pre-call page share.
func TestOutcomeOf(t *testing.T) {
	r := func(st checks.Status) checks.Result { return checks.Result{Status: st} }
	saturated := checks.Result{Status: checks.Warn, HostSaturated: true}
	iterations := func(runs ...[]checks.Result) *report.Repeat {
		rp := &report.Repeat{}
		for _, rs := range runs {
			rp.Iterations = append(rp.Iterations, report.Iteration{Results: rs})
		}
		return rp
	}
	for _, tc := range []struct {
		name string
		rep  report.Report
		want engine.Outcome
	}{
		{"pass and skip", report.Report{Results: []checks.Result{r(checks.Pass), r(checks.Skip)}}, engine.Passed},
		{"warn", report.Report{Results: []checks.Result{r(checks.Warn)}}, engine.Passed},
		{"warn, fail on warn", report.Report{Results: []checks.Result{r(checks.Warn)}, FailOn: checks.Warn}, engine.Failed},
		{"saturated warn, fail on warn", report.Report{Results: []checks.Result{saturated}, FailOn: checks.Warn}, engine.Passed},
		{"fail", report.Report{Results: []checks.Result{r(checks.Pass), r(checks.Fail)}}, engine.Failed},
		{"error outranks fail", report.Report{Results: []checks.Result{r(checks.Fail), r(checks.Error)}}, engine.Errored},
		{"every check skipped", report.Report{Results: []checks.Result{r(checks.Skip), r(checks.Skip)}}, engine.NothingChecked},
		{"skipped but failed", report.Report{Results: []checks.Result{r(checks.Skip), r(checks.Fail)}}, engine.Failed},
		{"an earlier iteration failed", report.Report{Results: []checks.Result{r(checks.Pass)},
			Repeat: iterations([]checks.Result{r(checks.Fail)}, []checks.Result{r(checks.Pass)})}, engine.Failed},
		{"one iteration checked something", report.Report{Results: []checks.Result{r(checks.Skip)},
			Repeat: iterations([]checks.Result{r(checks.Pass)}, []checks.Result{r(checks.Skip)})}, engine.Passed},
		{"every iteration skipped", report.Report{Results: []checks.Result{r(checks.Skip)},
			Repeat: iterations([]checks.Result{r(checks.Skip)}, []checks.Result{r(checks.Skip)})}, engine.NothingChecked},
	} {
		if got := engine.OutcomeOf(tc.rep); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if got := engine.OutcomeOf(tc.rep).Success(); got != (tc.want == engine.Passed) {
			t.Errorf("%s: success %v", tc.name, got)
		}
	}
}
