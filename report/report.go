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
}

// Summary counts results per status.
type Summary struct {
	Status checks.Status
	Total  int
	Counts map[checks.Status]int
}

// Summary tallies the results.
func (r Report) Summary() Summary {
	s := Summary{Status: checks.Overall(r.Results), Total: len(r.Results), Counts: map[checks.Status]int{}}
	for _, res := range r.Results {
		s.Counts[res.Status]++
	}
	return s
}
