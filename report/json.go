package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

type jsonReport struct {
	Schema     string      `json:"schema"`
	Tool       jsonTool    `json:"tool"`
	StartedAt  time.Time   `json:"started_at"`
	DurationMS float64     `json:"duration_ms"`
	Servers    []string    `json:"servers"`
	Env        Environment `json:"environment"`
	FailOn     string      `json:"fail_on"`
	Summary    jsonSummary `json:"summary"`
	// Interrupted is only written when true.
	Interrupted bool        `json:"interrupted,omitempty"`
	Checks      []jsonCheck `json:"checks"`
	// Repeat is only written for a repeated run (schema rtcprobe/v2).
	Repeat *jsonRepeat `json:"repeat,omitempty"`
}

type jsonRepeat struct {
	Asked      int             `json:"asked,omitempty"`
	IntervalMS float64         `json:"interval_ms"`
	UntilMS    float64         `json:"until_ms,omitempty"`
	Iterations []jsonIteration `json:"iterations"`
	Checks     []jsonRepeated  `json:"checks"`
}

type jsonIteration struct {
	Index      int           `json:"index"`
	StartedAt  time.Time     `json:"started_at"`
	DurationMS float64       `json:"duration_ms"`
	Status     result.Status `json:"status"`
	Checks     []jsonCheck   `json:"checks"`
}

type jsonRepeated struct {
	ID          string                       `json:"id"`
	Title       string                       `json:"title"`
	Target      string                       `json:"target"`
	Runs        int                          `json:"runs"`
	PassRatePct float64                      `json:"pass_rate_pct"`
	Flaps       int                          `json:"flaps"`
	Statuses    []result.Status              `json:"statuses"`
	Metrics     map[string]jsonMetricSummary `json:"metrics"`
}

type jsonMetricSummary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	Status result.Status `json:"status"`
	Total  int           `json:"total"`
	Pass   int           `json:"pass"`
	Warn   int           `json:"warn"`
	Fail   int           `json:"fail"`
	Skip   int           `json:"skip"`
	Error  int           `json:"error"`
}

type jsonCheck struct {
	ID         string        `json:"id"`
	Title      string        `json:"title"`
	Target     string        `json:"target"`
	Status     result.Status `json:"status"`
	DurationMS float64       `json:"duration_ms"`
	// StartedMS and EndedMS place the check on the run's timeline; only
	// written for checks the run itself ran.
	StartedMS *float64           `json:"started_ms,omitempty"`
	EndedMS   *float64           `json:"ended_ms,omitempty"`
	Metrics   map[string]float64 `json:"metrics"`
	Evidence  []probes.Evidence  `json:"evidence"`
	// Observations are what the probe sent and what came back, per step.
	Observations []probes.Observation `json:"observations"`
	// Diagnosis is what the observations say about a failure.
	Diagnosis *result.Diagnosis `json:"diagnosis,omitempty"`
	Series    []probes.Sample   `json:"series,omitempty"`
	Broken    []jsonViolation   `json:"thresholds_broken,omitempty"`
	// Load is a TURN capacity run's mergeable data (load.turn only).
	Load *probes.LoadSummary `json:"load,omitempty"`
	// Interrupted is only written when true.
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"error"`
	Advice      string `json:"advice"`
}

type jsonViolation struct {
	Metric string        `json:"metric"`
	Op     string        `json:"op"`
	Limit  float64       `json:"limit"`
	Level  result.Status `json:"level"`
	Value  float64       `json:"value"`
}

// WriteJSON writes the versioned JSON report (schema rtcprobe/v1).
func WriteJSON(w io.Writer, r Report) error {
	s := r.Summary()
	out := jsonReport{
		Schema:     Schema,
		Tool:       jsonTool{Name: "rtcprobe", Version: r.Version},
		StartedAt:  r.StartedAt.UTC(),
		DurationMS: millis(r.Duration),
		Servers:    nonNil(r.Servers),
		Env:        r.Environment,
		FailOn:     string(r.failOn()),
		Summary: jsonSummary{Status: s.Status, Total: s.Total, Pass: s.Counts[result.Pass], Warn: s.Counts[result.Warn],
			Fail: s.Counts[result.Fail], Skip: s.Counts[result.Skip], Error: s.Counts[result.Error]},
		Interrupted: r.Interrupted,
		Checks:      []jsonCheck{},
	}
	out.Checks = jsonChecks(r.Results)
	if rp := r.Repeat; rp != nil {
		out.Schema = SchemaRepeat
		jr := &jsonRepeat{Asked: rp.Asked, IntervalMS: millis(rp.Interval), UntilMS: millis(rp.Until),
			Iterations: []jsonIteration{}, Checks: []jsonRepeated{}}
		for i, it := range rp.Iterations {
			jr.Iterations = append(jr.Iterations, jsonIteration{Index: i + 1, StartedAt: it.StartedAt.UTC(), DurationMS: millis(it.Duration),
				Status: it.Status(), Checks: jsonChecks(it.Results)})
		}
		for _, c := range rp.Checks {
			jc := jsonRepeated{ID: c.CheckID, Title: c.Title, Target: c.Target, Runs: len(c.Statuses), PassRatePct: c.PassRate(r.failOn()),
				Flaps: c.Flaps, Statuses: c.Statuses, Metrics: map[string]jsonMetricSummary{}}
			for k, m := range c.Metrics {
				jc.Metrics[k] = jsonMetricSummary{N: m.N, Min: m.Min, P50: m.P50, P95: m.P95, Max: m.Max, Mean: m.Mean}
			}
			jr.Checks = append(jr.Checks, jc)
		}
		out.Repeat = jr
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// jsonChecks are results as the report's checks array.
func jsonChecks(results []result.Result) []jsonCheck {
	out := []jsonCheck{}
	for _, res := range results {
		metrics := map[string]float64{}
		for k, v := range res.Metrics {
			if !math.IsNaN(v) && !math.IsInf(v, 0) { // JSON has no NaN
				metrics[k] = v
			}
		}
		jc := jsonCheck{
			ID: res.CheckID, Title: res.Title, Target: res.Target, Status: res.Status,
			DurationMS: millis(res.Duration), Metrics: metrics, Evidence: nonNil(res.Evidence), Observations: nonNil(res.Observations), Diagnosis: res.Diagnosis,
			Series: res.Series, Broken: violations(res.Broken), Interrupted: res.Interrupted,
			Error: res.Error, Advice: res.Advice,
		}
		if l, ok := res.Summary.(*probes.LoadSummary); ok {
			jc.Load = l
		}
		if res.Ended > 0 {
			started, ended := millis(res.Started), millis(res.Ended)
			jc.StartedMS, jc.EndedMS = &started, &ended
		}
		out = append(out, jc)
	}
	return out
}

func millis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func violations(vs []result.Violation) []jsonViolation {
	var out []jsonViolation
	for _, v := range vs {
		out = append(out, jsonViolation{Metric: v.Metric, Op: v.Op, Limit: v.Threshold.Value, Level: v.Level, Value: v.Value})
	}
	return out
}

// MaxJSONBytes bounds a report ReadJSON reads: a run's report is tens of
// kilobytes, a stored row is never trusted to be small.
const MaxJSONBytes = 16 << 20

// ReadJSON reads back a report WriteJSON wrote (rtcprobe serve renders
// stored reports with the other writers). What the JSON does not carry
// stays empty: each result's key metrics (the checks know them) and its
// subject. A repeated run's iterations are read back too; its per-check
// summary is computed again from them.
func ReadJSON(r io.Reader) (Report, error) {
	var in jsonReport
	lr := &io.LimitedReader{R: r, N: MaxJSONBytes + 1}
	if err := json.NewDecoder(lr).Decode(&in); err != nil {
		if lr.N <= 0 {
			return Report{}, fmt.Errorf("report larger than %d bytes", MaxJSONBytes)
		}
		return Report{}, err
	}
	if in.Schema != Schema && (in.Schema != SchemaRepeat || in.Repeat == nil) {
		return Report{}, fmt.Errorf("schema %q, want %q", in.Schema, Schema)
	}
	out := Report{
		Version:     in.Tool.Version,
		StartedAt:   in.StartedAt,
		Duration:    fromMillis(in.DurationMS),
		Servers:     in.Servers,
		Environment: in.Env,
		FailOn:      result.Status(in.FailOn),
		Interrupted: in.Interrupted,
		Results:     readChecks(in.Checks),
	}
	if rp := in.Repeat; rp != nil {
		out.Repeat = &Repeat{Asked: rp.Asked, Interval: fromMillis(rp.IntervalMS), Until: fromMillis(rp.UntilMS)}
		for _, it := range rp.Iterations {
			out.Repeat.Iterations = append(out.Repeat.Iterations,
				Iteration{StartedAt: it.StartedAt, Duration: fromMillis(it.DurationMS), Results: readChecks(it.Checks)})
		}
		out.Repeat.Checks = Summarize(out.Repeat.Iterations)
	}
	return out, nil
}

// readChecks turns the report's checks array back into results.
func readChecks(in []jsonCheck) []result.Result {
	var out []result.Result
	for _, c := range in {
		res := result.Result{CheckID: c.ID, Title: c.Title, Target: c.Target, Status: c.Status, Duration: fromMillis(c.DurationMS),
			Metrics: c.Metrics, Evidence: c.Evidence, Observations: c.Observations, Diagnosis: c.Diagnosis, Series: c.Series, Interrupted: c.Interrupted, Error: c.Error, Advice: c.Advice}
		if c.StartedMS != nil && c.EndedMS != nil {
			res.Started, res.Ended = fromMillis(*c.StartedMS), fromMillis(*c.EndedMS)
		}
		if c.Load != nil {
			res.Summary = c.Load
		}
		for _, v := range c.Broken {
			res.Broken = append(res.Broken, result.Violation{Threshold: result.Threshold{Metric: v.Metric, Op: v.Op, Value: v.Limit, Level: v.Level}, Value: v.Value})
		}
		out = append(out, res)
	}
	return out
}

func fromMillis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
