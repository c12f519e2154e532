package probes_test

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestTruthJitter: with jitter=J every packet waits its own extra delay,
// uniform on [0, J] (netsim). The RFC 3550 interarrival jitter a receiver
// then computes is simulated here, apart from the code under test: 20 ms
// Opus packets, independent uniform delays, taken in arrival order, 2000
// simulated calls. For J up to the 20 ms packet spacing it is on average
// J/3, the mean absolute difference of two such delays. The call's final
// jitter_ms must lie within 3 standard deviations of the simulated final
// value, and the mean of its per-second samples within 3 standard
// deviations of theirs; the machine's own wake-ups may add jitterNoise.
func TestTruthJitter(t *testing.T) {
	testenv.CheckGoroutines(t)
	const sample = 5 * time.Second
	for _, j := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond} {
		t.Run(j.String(), func(t *testing.T) {
			t.Parallel()
			final, perSecond := expectedJitter(j, 20*time.Millisecond, sample, 2000)
			if j == 20*time.Millisecond && math.Abs(final.mean-msOf(j)/3) > 0.05*msOf(j)/3 {
				t.Fatalf("simulated mean jitter %.3f ms, want J/3 = %.3f ms: the simulation is wrong", final.mean, msOf(j)/3)
			}
			attempt(t, func(ck *checker) {
				c := audioOver(t, ck, fmt.Sprintf("delay=20ms,jitter=%s", j), sample)
				ck.within("jitter_ms", metric(c.m, "jitter_ms"), final.mean-3*final.sd-0.5, final.mean+3*final.sd+jitterNoise,
					fmt.Sprintf("RFC 3550 for uniform 0..%s: simulated %.3f ± %.3f (1 sd)", j, final.mean, final.sd))
				var samples []float64
				for _, s := range c.m.Series {
					if v, ok := s.Metrics["jitter_ms"]; ok {
						samples = append(samples, v)
					}
				}
				ck.within("mean per-second jitter_ms", mean(samples), perSecond.mean-3*perSecond.sd-0.5, perSecond.mean+3*perSecond.sd+jitterNoise,
					fmt.Sprintf("simulated %.3f ± %.3f (1 sd) over %d samples", perSecond.mean, perSecond.sd, len(samples)))
			})
		})
	}
}

// spread is a mean and a standard deviation.
type spread struct{ mean, sd float64 }

// expectedJitter simulates the RFC 3550 §6.4.1 jitter (J += (|D| - J)/16,
// D the difference of consecutive packets' transit times, in arrival
// order) of a stream sent every spacing for d, each packet delayed by an
// independent uniform draw on [0, j]: the final value's spread over runs
// calls, and that of the mean of the values at each whole second and the
// end.
func expectedJitter(j, spacing, d time.Duration, runs int) (final, perSecond spread) {
	rng := mrand.New(mrand.NewPCG(3550, 1))
	n := int(d / spacing)
	type pkt struct{ sent, arrived float64 }
	var finals, seconds []float64
	for range runs {
		pkts := make([]pkt, n)
		for i := range pkts {
			sent := float64(i) * msOf(spacing)
			pkts[i] = pkt{sent, sent + rng.Float64()*msOf(j)}
		}
		slices.SortStableFunc(pkts, func(a, b pkt) int { return cmpFloat(a.arrived, b.arrived) })
		var jitter, prev float64
		var marks []float64
		next := 1000.0
		for i, p := range pkts {
			for p.arrived >= next {
				marks = append(marks, jitter)
				next += 1000
			}
			transit := p.arrived - p.sent
			if i > 0 {
				jitter += (math.Abs(transit-prev) - jitter) / 16
			}
			prev = transit
		}
		finals = append(finals, jitter)
		seconds = append(seconds, mean(append(marks, jitter)))
	}
	return spreadOf(finals), spreadOf(seconds)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func spreadOf(v []float64) spread {
	m := mean(v)
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return spread{m, math.Sqrt(ss / float64(len(v)-1))}
}
