package probes

import (
	"math"
	"slices"
	"time"
)

// Durations summarises round-trip times in milliseconds.
type Durations []time.Duration

// Percentile returns the p-th percentile (0..100) by the nearest-rank
// method, in milliseconds; 0 for an empty set.
func (d Durations) Percentile(p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return ms(s[rank-1])
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
