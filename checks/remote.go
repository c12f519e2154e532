package checks

import (
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Remote is how a browser check runs in a browser elsewhere (a user's,
// on the hosted pre-call page): the page check to send there, and how the
// result it posts back becomes the measurement the check judges, exactly
// as the check judges its own.
type Remote struct {
	// Task is the page check for one subject.
	Task func(s Subject, p *Plan, env RemoteEnv) browser.Task
	// Measure turns the posted result (and, for calls, what rtcprobe's
	// pion peer saw) into the measurement.
	Measure func(s Subject, p *Plan, res browser.PageResult, call browser.CallStats) probes.Measurement
}

// RemoteEnv is what a page elsewhere needs to reach rtcprobe: how a call
// signals to its pion peer (the all-candidates call's ICE servers are the
// plan's, filled in by the check).
type RemoteEnv struct {
	Call browser.CallSetup
}

// Measured is a measurement taken outside the runner, to be judged.
type Measured struct {
	Check       *Check
	Subject     Subject
	Measurement probes.Measurement
	Took        time.Duration
}

// Judge judges measurements taken elsewhere as Run judges its own: each
// by its check's thresholds in force in the plan, then by the checks'
// rules across results. The results keep the order of ms.
func Judge(p *Plan, ms []Measured) []Result {
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i] = m.Check.Judge(m.Subject, m.Measurement, m.Took, p.ThresholdsFor(m.Check))
	}
	across(p, out)
	return out
}
