package engine

import (
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/report"
)

// Outcome is what a finished run comes to. It is decided here, once, so
// the CLI's exit code, the exporter's probe_success and the pre-call
// page's verdict cannot disagree about the same results.
type Outcome int

const (
	// Passed: every check that ran passed (warnings too, unless the run
	// fails on them), and at least one ran.
	Passed Outcome = iota
	// Failed: a check failed, or warned in a run that fails on warnings
	// (a warning that only says this machine was saturated does not).
	Failed
	// Errored: rtcprobe itself failed on a check.
	Errored
	// NothingChecked: every check skipped. The run attests nothing about
	// the network, so it is no success: a CI gate or a Prometheus alert
	// must not go green on a run that tested nothing.
	NothingChecked
)

// Success reports whether the outcome is a pass.
func (o Outcome) Success() bool { return o == Passed }

func (o Outcome) String() string {
	switch o {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Errored:
		return "errored"
	case NothingChecked:
		return "nothing checked"
	}
	return "unknown"
}

// OutcomeOf judges a report: every iteration of a repeated run counts,
// so a soak that failed once fails. rtcprobe's own error outranks a
// failure, and both outrank an all-skip run.
func OutcomeOf(rep report.Report) Outcome {
	failOn := checks.Fail
	if rep.FailOn == checks.Warn {
		failOn = checks.Warn
	}
	runs := [][]checks.Result{rep.Results}
	if rep.Repeat != nil && len(rep.Repeat.Iterations) > 0 {
		runs = runs[:0]
		for _, it := range rep.Repeat.Iterations {
			runs = append(runs, it.Results)
		}
	}
	out, ran, any := Passed, false, false
	for _, results := range runs {
		for _, r := range results {
			any = true
			switch {
			case r.Status == checks.Error:
				return Errored
			case r.FailsRun(failOn):
				out = Failed
			}
			ran = ran || r.Status != checks.Skip
		}
	}
	if any && !ran {
		return NothingChecked
	}
	return out
}
