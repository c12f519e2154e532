package probes

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Histogram is a mergeable distribution of non-negative values with
// logarithmic buckets: bucket i holds the values in (γ^(i-1), γ^i] with
// γ = (1+α)/(1-α), and reads back as 2γ^i/(γ+1), within α of every value
// in it. Values under HistogramZero count in a bucket of their own that
// reads back as 0. Merging two histograms adds their buckets, so the
// histogram of parts merged is the histogram of the whole, and
// percentiles of a fleet come from the merged buckets, never from
// percentiles averaged.
type Histogram struct {
	// RelativeError is α.
	RelativeError float64 `json:"relative_error"`
	// Zero is the threshold under which a value counts as 0.
	Zero float64 `json:"zero_below"`
	// Count is how many values were added; ZeroCount how many of them
	// were under Zero.
	Count     int64 `json:"count"`
	ZeroCount int64 `json:"zero_count"`
	// Min and Max are the exact extremes (0 when Count is 0): percentiles
	// are clamped to them, and the 100th is Max itself.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// Buckets are [index, count] pairs in rising index order, empty
	// buckets left out.
	Buckets [][2]int64 `json:"buckets"`
}

// The one layout the load check writes: 1 % relative error, values under
// 0.001 (the three decimals a report keeps) as 0, at most 1e9 (beyond any
// latency in ms or loss in percent).
const (
	HistogramError = 0.01
	HistogramZero  = 0.001
	histogramMax   = 1e9
)

var histogramGamma = (1 + HistogramError) / (1 - HistogramError)

// histogramIndexRange bounds the bucket indexes of the layout: a report
// whose buckets lie outside was not written by it.
var histogramIndexRange = [2]int64{bucketIndex(HistogramZero), bucketIndex(histogramMax)}

// NewHistogram is an empty histogram of the load check's layout.
func NewHistogram() *Histogram {
	return &Histogram{RelativeError: HistogramError, Zero: HistogramZero, Buckets: [][2]int64{}}
}

func bucketIndex(v float64) int64 {
	return int64(math.Ceil(math.Log(v) / math.Log(histogramGamma)))
}

// bucketValue is what bucket i reads back as.
func bucketValue(i int64) float64 {
	return 2 * math.Pow(histogramGamma, float64(i)) / (histogramGamma + 1)
}

// Add counts v (negative values and NaN count as 0, values past the
// layout's top as the top).
func (h *Histogram) Add(v float64) {
	if !(v > 0) {
		v = 0
	}
	v = min(v, histogramMax)
	if h.Count == 0 || v < h.Min {
		h.Min = v
	}
	h.Max = max(h.Max, v)
	h.Count++
	if v < h.Zero {
		h.ZeroCount++
		return
	}
	h.addBucket(bucketIndex(v), 1)
}

func (h *Histogram) addBucket(i, n int64) {
	at, found := slices.BinarySearchFunc(h.Buckets, i, func(b [2]int64, i int64) int {
		switch {
		case b[0] < i:
			return -1
		case b[0] > i:
			return 1
		}
		return 0
	})
	if found {
		h.Buckets[at][1] += n
		return
	}
	h.Buckets = slices.Insert(h.Buckets, at, [2]int64{i, n})
}

// Merge adds o's values to h; both must have the same layout.
func (h *Histogram) Merge(o *Histogram) error {
	if o.RelativeError != h.RelativeError || o.Zero != h.Zero {
		return fmt.Errorf("histogram layouts differ: relative error %g and %g, zero below %g and %g", h.RelativeError, o.RelativeError, h.Zero, o.Zero)
	}
	if o.Count == 0 {
		return nil
	}
	if h.Count == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	h.Max = max(h.Max, o.Max)
	h.Count += o.Count
	h.ZeroCount += o.ZeroCount
	for _, b := range o.Buckets {
		h.addBucket(b[0], b[1])
	}
	return nil
}

// Percentile is the p-th percentile (0..100) by the nearest-rank method,
// as Values.Percentile defines it, within the relative error of the
// value that rank holds (and exact for 0 and 100); 0 for an empty
// histogram.
func (h *Histogram) Percentile(p float64) float64 {
	if h.Count == 0 {
		return 0
	}
	rank := int64(math.Ceil(p / 100 * float64(h.Count)))
	rank = max(1, min(rank, h.Count))
	switch rank {
	case 1:
		return h.Min
	case h.Count:
		return h.Max
	}
	if rank <= h.ZeroCount {
		return 0
	}
	seen := h.ZeroCount
	for _, b := range h.Buckets {
		seen += b[1]
		if seen >= rank {
			return min(max(bucketValue(b[0]), h.Min), h.Max)
		}
	}
	return h.Max
}

// Validate refuses a histogram that is not of the load check's layout or
// does not add up: what a report read from a file must pass before it is
// merged.
func (h *Histogram) Validate() error {
	switch {
	case h == nil:
		return errors.New("missing")
	case h.RelativeError != HistogramError || h.Zero != HistogramZero:
		return fmt.Errorf("relative error %g and zero below %g, want %g and %g", h.RelativeError, h.Zero, HistogramError, HistogramZero)
	case h.Count < 0 || h.ZeroCount < 0 || h.ZeroCount > h.Count:
		return fmt.Errorf("count %d with %d zeros", h.Count, h.ZeroCount)
	case !(h.Min >= 0 && h.Min <= h.Max && h.Max <= histogramMax):
		return fmt.Errorf("min %g and max %g", h.Min, h.Max)
	}
	sum, last := h.ZeroCount, int64(math.MinInt64)
	for _, b := range h.Buckets {
		if b[0] <= last || b[0] < histogramIndexRange[0] || b[0] > histogramIndexRange[1] || b[1] <= 0 {
			return fmt.Errorf("bucket [%d, %d] out of order, out of range or empty", b[0], b[1])
		}
		last = b[0]
		if sum += b[1]; sum > h.Count || sum < 0 {
			return fmt.Errorf("buckets hold more than its count %d", h.Count)
		}
	}
	if sum != h.Count {
		return fmt.Errorf("buckets hold %d values, count says %d", sum, h.Count)
	}
	return nil
}
