package checks

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// LoadParts are a shard report's load.turn results, one per server, as
// the report gives them back: each Summary must be the run's
// *probes.LoadSummary.
func LoadParts(results []Result) ([]Result, error) {
	var found []Result
	for _, r := range results {
		if r.CheckID != "load.turn" {
			continue
		}
		if s, ok := r.Summary.(*probes.LoadSummary); !ok || s == nil {
			return nil, fmt.Errorf("its load.turn result for %s carries no load data (%s)", r.Target, noLoadWhy(r))
		}
		found = append(found, r)
	}
	if len(found) == 0 {
		return nil, errors.New("not a report of rtcprobe load: it has no load.turn result")
	}
	return found, nil
}

func noLoadWhy(r Result) string {
	if r.Status == Skip || r.Status == Error {
		return "it did not run: " + r.Error
	}
	return "written by an rtcprobe without mergeable load data, or edited"
}

// MergeLoad judges a run spread over shards as one: the shards' load.turn
// results (LoadPart) merged step by step (totals added, histograms
// merged), each step's percentiles computed again from the merged
// histograms and judged by the thresholds the shards recorded; with a
// ramp, calls_held is the largest step of the fleet that held, with every
// step before it. Parts of other runs or servers are refused: a
// *probes.MergeError names the part.
func MergeLoad(parts []Result) (Result, error) {
	if len(parts) == 0 {
		return Result{}, errors.New("no report to merge")
	}
	sums := make([]*probes.LoadSummary, len(parts))
	var took time.Duration
	for i, p := range parts {
		sums[i], _ = p.Summary.(*probes.LoadSummary)
		if sums[i] == nil {
			return Result{}, &probes.MergeError{Part: i, Why: "no load data"}
		}
		if p.Target != parts[0].Target {
			return Result{}, &probes.MergeError{Part: i, Why: fmt.Sprintf("another server: %s, the first report's %s", p.Target, parts[0].Target)}
		}
		took = max(took, p.Duration)
	}
	fleet, err := probes.MergeLoad(sums)
	if err != nil {
		return Result{}, err
	}
	thresholds, err := recordedThresholds(fleet.Run.Thresholds)
	if err != nil {
		return Result{}, err
	}
	var m probes.Measurement
	m.Summary = fleet
	held, at := 0, -1
	for k, st := range fleet.Steps {
		sm := probes.Measurement{Metrics: st.Metrics()}
		if fleet.Run.Ramp {
			sample := probes.Sample{Metrics: sm.Metrics}
			if s := parts[0].Series; k < len(s) {
				sample.At = s[k].At
			}
			m.Series = append(m.Series, sample)
		}
		if at >= 0 {
			continue
		}
		if st.Error != "" || !holds(thresholds, sm) {
			at = k
			continue
		}
		held = st.Calls
	}
	shown := fleet.Steps[len(fleet.Steps)-1]
	if at >= 0 {
		shown = fleet.Steps[at]
	}
	for k, v := range shown.Metrics() {
		m.SetMetric(k, v)
	}
	m.AddEvidence("merged", fmt.Sprintf("%d shard reports of %d calls%s: totals added, percentiles from the merged histograms (within %g %%)",
		len(parts), fleet.Run.Calls, startText(fleet.Run.StartAt), probes.HistogramError*100))
	if fleet.Run.Ramp {
		m.SetMetric("calls_held", float64(held))
		if at >= 0 {
			why := "loss, jitter or allocations past the thresholds"
			if e := fleet.Steps[at].Error; e != "" {
				why = e
			}
			m.AddEvidence("ramp", fmt.Sprintf("held up to %d calls; at %d: %s", held, fleet.Steps[at].Calls, why))
		}
	}
	if shown.Error != "" && (!fleet.Run.Ramp || held == 0) {
		m.Err = errors.New(shown.Error)
	}
	c := loadChecks()[0]
	return c.Judge(Subject{Name: parts[0].Target}, m, took, thresholds), nil
}

// recordedThresholds parses the thresholds a shard recorded ("warn:
// loss_pct <= 1").
func recordedThresholds(texts []string) ([]Threshold, error) {
	var out []Threshold
	for _, t := range texts {
		level, expr, ok := strings.Cut(t, ": ")
		if !ok || (Status(level) != Warn && Status(level) != Fail) {
			return nil, fmt.Errorf("threshold %q: want LEVEL: EXPRESSION", t)
		}
		th, err := ParseThreshold(Status(level), expr)
		if err != nil {
			return nil, fmt.Errorf("threshold %q: %w", t, err)
		}
		out = append(out, th)
	}
	return out, nil
}

func startText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return " started at " + t.UTC().Format(time.RFC3339)
}
