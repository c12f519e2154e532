package probes

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Durations summarises round-trip times in milliseconds.
type Durations []time.Duration

// Percentile returns the p-th percentile (0..100) by the nearest-rank
// method, in milliseconds; 0 for an empty set.
func (d Durations) Percentile(p float64) float64 {
	v := make(Values, len(d))
	for i, x := range d {
		v[i] = ms(x)
	}
	return v.Percentile(p)
}

// Median is the 50th percentile computed as the mean of the two middle
// values for an even count, in milliseconds.
func (d Durations) Median() float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return ms(s[n/2])
	}
	return (ms(s[n/2-1]) + ms(s[n/2])) / 2
}

// Record writes the min/median/p95/max of d as "<prefix>_min_ms" etc.
func (d Durations) Record(m *Measurement, prefix string) {
	if len(d) == 0 {
		return
	}
	m.SetMetric(prefix+"_min_ms", d.Percentile(0))
	m.SetMetric(prefix+"_median_ms", d.Median())
	m.SetMetric(prefix+"_p95_ms", d.Percentile(95))
	m.SetMetric(prefix+"_max_ms", d.Percentile(100))
}

func ms(d time.Duration) float64 {
	// Three decimals (microsecond resolution) are all a loopback RTT needs.
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// LossPct is the share of unanswered requests in percent.
func LossPct(sent, received int) float64 {
	if sent == 0 {
		return 0
	}
	return math.Round(float64(sent-received)/float64(sent)*10000) / 100
}

// Values are measurements of one quantity across runs or peers (per
// viewer loss, per call jitter), in the quantity's own unit.
type Values []float64

// Percentile returns the p-th percentile (0..100) by the nearest-rank
// method; 0 for an empty set.
func (v Values) Percentile(p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// Record writes the p50/p95/max of v as "<name>_p50" etc. (the unit
// suffix stays last: loss_pct → loss_p95_pct); low, when set, records
// the minimum instead of the maximum, for quantities where less is worse
// (fps, bitrate).
func (v Values) Record(m *Measurement, name string, low bool) {
	if len(v) == 0 {
		return
	}
	base, unit := name, ""
	if i := strings.LastIndex(name, "_"); i > 0 && isUnit(name[i+1:]) {
		base, unit = name[:i], name[i:]
	}
	m.SetMetric(base+"_p50"+unit, round3(v.Percentile(50)))
	if low {
		m.SetMetric(base+"_p5"+unit, round3(v.Percentile(5)))
		m.SetMetric(base+"_min"+unit, round3(v.Percentile(0)))
		return
	}
	m.SetMetric(base+"_p95"+unit, round3(v.Percentile(95)))
	m.SetMetric(base+"_max"+unit, round3(v.Percentile(100)))
}

func isUnit(s string) bool {
	switch s {
	case "ms", "pct", "kbps", "mbps", "fps", "bytes":
		return true
	}
	return false
}
