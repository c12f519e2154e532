// Package probes measures: each probe kind opens sockets, times what happens
// and returns a Measurement. Probes never judge, print or exit; the checks
// package turns a Measurement into a verdict.
package probes

import "time"

// Measurement is everything one probe run observed.
type Measurement struct {
	// Metrics are named numbers with the unit as the suffix of the name:
	// "rtt_p95_ms", "loss_pct", "bitrate_kbps", "mos".
	Metrics map[string]float64
	// Series holds time-stamped samples where a probe takes any (media
	// stats every second, for example).
	Series []Sample
	// Evidence is what a person needs to see why: mapped addresses,
	// candidates, negotiated codecs. Never secrets.
	Evidence []Evidence
	// Err is set when the probe could not measure. It is one of the typed
	// errors in errors.go (wrapped), so checks can give advice on it.
	Err error
	// Summary is what a probe has to say beyond numbers and words, as a
	// typed value (*NATSummary, …), so checks judge data, not text.
	Summary any
	// Observations are the exchanges the probe had with the network, in
	// order, the one that ended it last (the runner collects them).
	Observations []Observation
	// Host is how busy this machine's CPUs were meanwhile (the runner
	// measures it around the probe).
	Host HostLoad
}

// Sample is one point of a time series.
type Sample struct {
	At      time.Time          `json:"at"`
	Metrics map[string]float64 `json:"metrics"`
}

// Evidence is a named observation in words.
type Evidence struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SetMetric records a metric, allocating the map on first use.
func (m *Measurement) SetMetric(name string, v float64) {
	if m.Metrics == nil {
		m.Metrics = make(map[string]float64)
	}
	m.Metrics[name] = v
}

// AddEvidence appends a named observation.
func (m *Measurement) AddEvidence(name, value string) {
	m.Evidence = append(m.Evidence, Evidence{Name: name, Value: value})
}

// Failed returns a Measurement that carries only an error.
func Failed(err error) Measurement { return Measurement{Err: err} }
