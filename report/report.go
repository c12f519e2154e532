// Package report renders results: a table for people, JSON for machines.
// Writers are pure: they take a Report and an io.Writer, decide nothing
// and touch nothing else.
package report

import (
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
)

// Schema versions the JSON report; bump it when a field changes meaning.
const Schema = "rtcprobe/v1"

// Report is one run's results and the context to read them in.
type Report struct {
	Version   string
	StartedAt time.Time
	Duration  time.Duration
	// Servers are the probed ICE servers as URIs, without credentials.
	Servers []string
	Results []checks.Result
	// Environment is where the run happened, for reports attached to a
	// ticket. Zero fields are left out.
	Environment Environment
	// FailOn is the worst status that still passes the run: checks.Fail
	// (the default when empty) or checks.Warn.
	FailOn checks.Status
	// Interrupted is true when the run was interrupted (Ctrl-C) before
	// every check finished.
	Interrupted bool
	// Repeat, when set, is a repeated run (--repeat, --duration): Results
	// are then its last iteration's.
	Repeat *Repeat
}

// Overall is the run's status: the worst result, over every iteration
// of a repeated run.
func (r Report) Overall() checks.Status {
	if r.Repeat != nil && len(r.Repeat.Iterations) > 0 {
		return r.Repeat.worst()
	}
	return checks.Overall(r.Results)
}

// Environment describes the machine and settings of a run. It never holds
// secrets.
type Environment struct {
	OS        string `json:"os,omitempty"`         // "linux 6.1.0-18-amd64 (amd64)"
	GoVersion string `json:"go_version,omitempty"` // toolchain rtcprobe was built with
	Browser   string `json:"browser,omitempty"`    // "Chromium 131.0.6778.85" when a browser check ran
	Profile   string `json:"profile,omitempty"`
	Config    string `json:"config,omitempty"` // the config file's path
	// Client is where a hosted pre-call check ran: the address it came
	// from (truncated to /24 or /48 unless the operator keeps it whole).
	Client string `json:"client_address,omitempty"`
}

func (r Report) failOn() checks.Status {
	if r.FailOn == checks.Warn {
		return checks.Warn
	}
	return checks.Fail
}

// Failing reports whether a result of status st fails the run (the rule
// is the checks package's; writers only show it).
func (r Report) Failing(st checks.Status) bool { return st.FailsRun(r.failOn()) }

// FailingResult reports whether res fails the run (a warning that only
// says this machine was saturated does not).
func (r Report) FailingResult(res checks.Result) bool { return res.FailsRun(r.failOn()) }

// RunFails reports whether the run fails, result by result.
func (r Report) RunFails() bool { return checks.RunFails(r.Results, r.failOn()) }

// Summary counts results per status.
type Summary struct {
	Status checks.Status
	Total  int
	Counts map[checks.Status]int
}

// Summary tallies the results.
func (r Report) Summary() Summary {
	s := Summary{Status: r.Overall(), Total: len(r.Results), Counts: map[checks.Status]int{}}
	for _, res := range r.Results {
		s.Counts[res.Status]++
	}
	return s
}
