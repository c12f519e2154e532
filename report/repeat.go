package report

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// SchemaRepeat versions the JSON report of a repeated run (--repeat,
// --duration): rtcprobe/v1 plus the repeat object. A single run still
// writes rtcprobe/v1.
const SchemaRepeat = "rtcprobe/v2"

// Repeat is a run made again and again: every iteration's results and
// what they add up to per check and target.
type Repeat struct {
	// Asked are the iterations asked for (--repeat), 0 for a soak that
	// runs until Until.
	Asked int
	// Interval is the time between iterations' starts; Until the soak's
	// length (0 when counted).
	Interval, Until time.Duration
	Iterations      []Iteration
	Checks          []RepeatedCheck
}

// Iteration is one run of the plan.
type Iteration struct {
	StartedAt time.Time
	Duration  time.Duration
	Results   []result.Result
}

// Status is the iteration's worst status.
func (it Iteration) Status() result.Status { return result.Overall(it.Results) }

// RepeatedCheck is one (check, target) across the iterations.
type RepeatedCheck struct {
	CheckID, Title, Target string
	// Statuses are the check's status in each iteration it ran, in order.
	Statuses []result.Status
	// Flaps counts status changes between consecutive iterations.
	Flaps int
	// Metrics summarise each metric across the iterations.
	Metrics map[string]MetricSummary
	// KeyMetrics are those the check shows first.
	KeyMetrics []string
}

// PassRate is the share of the iterations the check ran in (skips left
// out) that passed: warnings count as passing unless the run fails on
// them. In percent; 0 when it never ran.
func (c RepeatedCheck) PassRate(failOn result.Status) float64 {
	ok, ran := 0, 0
	for _, s := range c.Statuses {
		if s == result.Skip {
			continue
		}
		ran++
		if !s.FailsRun(failOn) {
			ok++
		}
	}
	if ran == 0 {
		return 0
	}
	return math.Round(float64(ok)/float64(ran)*1000) / 10
}

// passRateText is PassRate as shown: "skipped" when the check never ran,
// so a check skipped for want of a browser does not read as 0 % passing.
func (c RepeatedCheck) passRateText(failOn result.Status) string {
	if c.Count(result.Skip) == len(c.Statuses) {
		return "skipped"
	}
	return result.FormatNumber(c.PassRate(failOn)) + "%"
}

// Count is how many iterations had status s.
func (c RepeatedCheck) Count(s result.Status) int {
	n := 0
	for _, st := range c.Statuses {
		if st == s {
			n++
		}
	}
	return n
}

// MetricSummary is one metric across iterations.
type MetricSummary struct {
	N                        int
	Min, P50, P95, Max, Mean float64
	// Values are the metric in each iteration that reported it, for
	// charts.
	Values []float64
}

// Summarize adds up iterations per (check, target), in the order the
// checks first appear.
func Summarize(its []Iteration) []RepeatedCheck {
	type key struct{ id, target string }
	index := map[key]int{}
	var out []RepeatedCheck
	values := map[key]map[string][]float64{}
	for _, it := range its {
		for _, r := range it.Results {
			k := key{r.CheckID, r.Target}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, RepeatedCheck{CheckID: r.CheckID, Title: r.Title, Target: r.Target})
				values[k] = map[string][]float64{}
			}
			c := &out[i]
			if n := len(c.Statuses); n > 0 && c.Statuses[n-1] != r.Status {
				c.Flaps++
			}
			c.Statuses = append(c.Statuses, r.Status)
			if len(r.KeyMetrics) > len(c.KeyMetrics) {
				c.KeyMetrics = r.KeyMetrics
			}
			for m, v := range r.Metrics {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					values[k][m] = append(values[k][m], v)
				}
			}
		}
	}
	for k, i := range index {
		out[i].Metrics = map[string]MetricSummary{}
		for m, vs := range values[k] {
			out[i].Metrics[m] = summarizeValues(vs)
		}
	}
	return out
}

func summarizeValues(vs []float64) MetricSummary {
	s := MetricSummary{N: len(vs), Values: vs}
	p := probes.Values(vs)
	s.Min, s.P50, s.P95, s.Max = p.Percentile(0), p.Percentile(50), p.Percentile(95), p.Percentile(100)
	var sum float64
	for _, v := range vs {
		sum += v
	}
	s.Mean = math.Round(sum/float64(len(vs))*1000) / 1000
	return s
}

// metricNames lists a repeated check's metrics, key metrics first.
func (c RepeatedCheck) metricNames() []string {
	names := slices.Clone(c.KeyMetrics)
	var rest []string
	for m := range c.Metrics {
		if !slices.Contains(names, m) {
			rest = append(rest, m)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// worst is the worst status of any iteration: what a repeated run's exit
// code and summary follow.
func (rp *Repeat) worst() result.Status {
	var all []result.Result
	for _, it := range rp.Iterations {
		all = append(all, it.Results...)
	}
	return result.Overall(all)
}
