package probes

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// histogramSamples are values as the load check sees them: many zeros
// (calls that lost nothing), and spreads over several decades (jitter
// in ms, allocation latency).
func histogramSamples(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		switch r.IntN(4) {
		case 0:
			out[i] = 0
		case 1:
			out[i] = float64(r.IntN(50)) / 5 // loss steps of 0.2 %
		default:
			out[i] = math.Exp(r.NormFloat64()*2) * 3 // lognormal, 0.01 … 1000
		}
	}
	return out
}

// The histogram of parts merged is the histogram of the whole, bucket for
// bucket, whichever way the values are split (three shards of unequal
// size, one of them empty).
func TestHistogramMergeOfPartsIsTheWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		vals := histogramSamples(r, 1+r.IntN(3000))
		whole := NewHistogram()
		parts := []*Histogram{NewHistogram(), NewHistogram(), NewHistogram()}
		for _, v := range vals {
			whole.Add(v)
			i := r.IntN(3)
			if trial%2 == 1 {
				i = 1 + r.IntN(2) // part 0 stays empty
			}
			parts[i].Add(v)
		}
		merged := NewHistogram()
		for _, p := range parts {
			if err := p.Validate(); err != nil {
				t.Fatalf("part: %v", err)
			}
			if err := merged.Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(merged, whole) {
			t.Fatalf("trial %d: merged %+v\nwhole %+v", trial, merged, whole)
		}
	}
}

// Every percentile is within the stated relative error of the exact
// nearest-rank percentile of the same values (Values.Percentile), values
// under the zero threshold within it absolutely, and 0 and 100 exact.
func TestHistogramPercentileError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	for range 50 {
		vals := histogramSamples(r, 1+r.IntN(2000))
		h := NewHistogram()
		for _, v := range vals {
			h.Add(v)
		}
		for _, p := range []float64{0, 1, 5, 25, 50, 75, 90, 95, 99, 99.9, 100} {
			exact, got := Values(vals).Percentile(p), h.Percentile(p)
			if p == 0 || p == 100 {
				if got != exact {
					t.Fatalf("p%g %v, want exactly %v", p, got, exact)
				}
				continue
			}
			if exact < HistogramZero {
				if math.Abs(got-exact) >= HistogramZero {
					t.Fatalf("p%g %v, want within %v of %v", p, got, HistogramZero, exact)
				}
				continue
			}
			rel := math.Abs(got-exact) / exact
			worst = max(worst, rel)
			if rel > HistogramError*(1+1e-9) {
				t.Fatalf("p%g %v, exact %v: relative error %.4f over %v", p, got, exact, rel, HistogramError)
			}
		}
	}
	t.Logf("worst relative error %.5f (bound %v)", worst, HistogramError)
	if worst < HistogramError/4 {
		t.Errorf("worst error %v: the buckets are finer than the stated bound, or the test samples too little", worst)
	}
}

func TestHistogramEmptyAndSingle(t *testing.T) {
	h := NewHistogram()
	if h.Percentile(50) != 0 || h.Validate() != nil {
		t.Fatal("empty histogram")
	}
	h.Add(42.5)
	for _, p := range []float64{0, 50, 100} {
		if got := h.Percentile(p); got != 42.5 {
			t.Errorf("p%g of one value %v, want it exactly", p, got)
		}
	}
}

// What a report from elsewhere may hold is checked before it is merged.
func TestHistogramValidateRefuses(t *testing.T) {
	good := func() *Histogram {
		h := NewHistogram()
		for _, v := range []float64{0, 1, 2, 3} {
			h.Add(v)
		}
		return h
	}
	bad := map[string]func(h *Histogram){
		"other layout":    func(h *Histogram) { h.RelativeError = 0.05 },
		"count too high":  func(h *Histogram) { h.Count++ },
		"count too low":   func(h *Histogram) { h.Count-- },
		"negative bucket": func(h *Histogram) { h.Buckets[0][1] = -1 },
		"index past top":  func(h *Histogram) { h.Buckets[len(h.Buckets)-1][0] = 1 << 40 },
		"out of order":    func(h *Histogram) { h.Buckets[0], h.Buckets[1] = h.Buckets[1], h.Buckets[0] },
		"min over max":    func(h *Histogram) { h.Min = 10 },
		"zeros over count": func(h *Histogram) {
			h.ZeroCount = h.Count + 1
		},
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range bad {
		h := good()
		mutate(h)
		if h.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if NewHistogram().Merge(&Histogram{RelativeError: 0.02, Zero: HistogramZero}) == nil {
		t.Error("merged histograms of different layouts")
	}
}
