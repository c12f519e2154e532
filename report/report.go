// Package report renders results: a table for people, JSON for machines.
// Writers are pure: they take a Report and an io.Writer, decide nothing
// and touch nothing else.
package report

import (
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
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
	Results []result.Result
	// Environment is where the run happened, for reports attached to a
	// ticket. Zero fields are left out.
	Environment Environment
	// FailOn is the worst status that still passes the run: result.Fail
	// (the default when empty) or result.Warn.
	FailOn result.Status
	// Interrupted is true when the run was interrupted (Ctrl-C) before
	// every check finished.
	Interrupted bool
	// Repeat, when set, is a repeated run (--repeat, --duration): Results
	// are then its last iteration's.
	Repeat *Repeat
}

// Overall is the run's status: the worst result, over every iteration
// of a repeated run.
func (r Report) Overall() result.Status {
	if r.Repeat != nil && len(r.Repeat.Iterations) > 0 {
		return r.Repeat.worst()
	}
	return result.Overall(r.Results)
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

func (r Report) failOn() result.Status {
	if r.FailOn == result.Warn {
		return result.Warn
	}
	return result.Fail
}

// Failing reports whether a result of status st fails the run (the rule
// is the checks package's; writers only show it).
func (r Report) Failing(st result.Status) bool { return st.FailsRun(r.failOn()) }

// FailingResult reports whether res fails the run (a warning that only
// says this machine was saturated does not).
func (r Report) FailingResult(res result.Result) bool { return res.FailsRun(r.failOn()) }

// RunFails reports whether the run fails, result by result.
func (r Report) RunFails() bool { return result.RunFails(r.Results, r.failOn()) }

// Summary counts results per status.
type Summary struct {
	Status result.Status
	Total  int
	Counts map[result.Status]int
}

// Summary tallies the results.
func (r Report) Summary() Summary {
	s := Summary{Status: r.Overall(), Total: len(r.Results), Counts: map[result.Status]int{}}
	for _, res := range r.Results {
		s.Counts[res.Status]++
	}
	return s
}
