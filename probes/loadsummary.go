package probes

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// LoadSummary is what a TURN capacity run measured, in a form that adds
// up across machines: per step, the totals and the distributions behind
// the percentiles as histograms. The reports of a run's shards merge into
// the fleet's (MergeLoad); the metrics of a step are computed from it
// alone (LoadStep.Metrics), in one process and after a merge alike.
type LoadSummary struct {
	Run   LoadRun    `json:"run"`
	Steps []LoadStep `json:"steps"`
}

// LoadRun is what every shard of one run shares, and which shard this is.
type LoadRun struct {
	// Shard is this report's index of Shards (0 of 1 for a run on one
	// machine); a merged report has Merged set to how many it merged.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	Merged int `json:"merged,omitempty"`
	// StartAt is when the run's first step was to begin on every shard.
	StartAt    *time.Time `json:"start_at,omitempty"`
	Calls      int        `json:"calls"`
	Ramp       bool       `json:"ramp"`
	DurationMS float64    `json:"duration_ms"`
	IntervalMS float64    `json:"interval_ms"`
	PacketSize int        `json:"packet_size"`
	// Thresholds judge each step ("fail: loss_pct < 5"): a merge judges
	// the fleet by the same ones.
	Thresholds []string `json:"thresholds"`
}

// LoadStep is one step of the run: Calls across all shards, the totals
// and distributions of this report's part of it.
type LoadStep struct {
	Calls  int        `json:"calls"`
	Totals LoadTotals `json:"totals"`
	// Per-call loss in percent, per-call jitter (the worse end's) in ms,
	// and every allocation's latency in ms.
	Loss   *Histogram `json:"loss_pct"`
	Jitter *Histogram `json:"jitter_ms"`
	Alloc  *Histogram `json:"alloc_ms"`
	// Error is why no call of the part could be set up.
	Error string `json:"error,omitempty"`
}

// LoadTotals are a step's counts; they add up across shards.
type LoadTotals struct {
	Calls           int     `json:"calls"`
	CallsOK         int     `json:"calls_ok"`
	AllocsOK        int     `json:"allocs_ok"`
	AllocsFailed    int     `json:"allocs_failed"`
	PacketsSent     int64   `json:"packets_sent"`
	PacketsReceived int64   `json:"packets_received"`
	RelayedPPS      float64 `json:"relayed_pps"`
	// GeneratorCPUPct and Cores are the generator's own (100 is one core
	// busy); merged, those of the busiest shard for its cores.
	GeneratorCPUPct float64 `json:"generator_cpu_pct"`
	Cores           int     `json:"cores"`
}

func newLoadStep(calls int) LoadStep {
	return LoadStep{Calls: calls, Loss: NewHistogram(), Jitter: NewHistogram(), Alloc: NewHistogram()}
}

// Metrics are the step's figures, computed from its totals and
// histograms only.
func (s LoadStep) Metrics() map[string]float64 {
	var m Measurement
	t := s.Totals
	m.SetMetric("calls", float64(t.Calls))
	m.SetMetric("calls_ok", float64(t.CallsOK))
	if n := t.AllocsOK + t.AllocsFailed; n > 0 {
		m.SetMetric("alloc_success_pct", round3(float64(t.AllocsOK)/float64(n)*100))
	}
	if s.Alloc.Count > 0 {
		m.SetMetric("alloc_p50_ms", round3(s.Alloc.Percentile(50)))
		m.SetMetric("alloc_p95_ms", round3(s.Alloc.Percentile(95)))
		m.SetMetric("alloc_p99_ms", round3(s.Alloc.Percentile(99)))
	}
	if t.CallsOK == 0 {
		return m.Metrics
	}
	if s.Loss.Count > 0 {
		m.SetMetric("loss_p50_pct", round3(s.Loss.Percentile(50)))
		m.SetMetric("loss_p95_pct", round3(s.Loss.Percentile(95)))
		m.SetMetric("loss_max_pct", round3(s.Loss.Percentile(100)))
	}
	if s.Jitter.Count > 0 {
		m.SetMetric("jitter_p50_ms", round3(s.Jitter.Percentile(50)))
		m.SetMetric("jitter_p95_ms", round3(s.Jitter.Percentile(95)))
		m.SetMetric("jitter_max_ms", round3(s.Jitter.Percentile(100)))
	}
	m.SetMetric("loss_pct", LossPct(int(t.PacketsSent), int(min(t.PacketsReceived, t.PacketsSent))))
	m.SetMetric("packets_sent", float64(t.PacketsSent))
	m.SetMetric("packets_received", float64(t.PacketsReceived))
	m.SetMetric("relayed_pps", round3(t.RelayedPPS))
	if t.Cores > 0 {
		m.SetMetric("generator_cpu_pct", t.GeneratorCPUPct)
		m.SetMetric("cores", float64(t.Cores))
	}
	return m.Metrics
}

// MaxLoadCalls is the most calls a load run makes (--calls); a call sends
// at most maxLoadPacketsPerCall packets in a step (both ends, the longest
// --load-duration at the shortest --load-interval).
const (
	MaxLoadCalls          = 2000
	maxLoadPacketsPerCall = 2 * int64(4*time.Minute/(5*time.Millisecond))
)

// Validate refuses a step that does not add up (read from a file).
func (s LoadStep) Validate() error {
	t := s.Totals
	for name, h := range map[string]*Histogram{"loss_pct": s.Loss, "jitter_ms": s.Jitter, "alloc_ms": s.Alloc} {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("histogram %s: %w", name, err)
		}
	}
	switch {
	case s.Calls < 0 || t.Calls < 0 || t.Calls > s.Calls || t.CallsOK < 0 || t.CallsOK > t.Calls:
		return fmt.Errorf("calls %d of the step's %d, %d of them set up", t.Calls, s.Calls, t.CallsOK)
	case s.Calls > MaxLoadCalls:
		return fmt.Errorf("a step of %d calls, more than the %d a run makes", s.Calls, MaxLoadCalls)
	case t.AllocsOK < 0 || t.AllocsFailed < 0 || int64(t.AllocsOK) != s.Alloc.Count:
		return fmt.Errorf("%d allocations, the histogram holds %d", t.AllocsOK, s.Alloc.Count)
	case t.AllocsOK+t.AllocsFailed > 2*t.Calls:
		return fmt.Errorf("%d allocations for %d calls: a call makes two", t.AllocsOK+t.AllocsFailed, t.Calls)
	case t.PacketsSent < 0 || t.PacketsReceived < 0 || !(t.RelayedPPS >= 0) || math.IsInf(t.RelayedPPS, 0) || !(t.GeneratorCPUPct >= 0) || t.Cores < 0:
		return errors.New("negative totals")
	case t.PacketsSent > int64(t.Calls)*maxLoadPacketsPerCall || t.PacketsReceived > int64(t.Calls)*maxLoadPacketsPerCall:
		// Bounded so that the shards' sums cannot wrap.
		return fmt.Errorf("%d packets sent and %d received by %d calls: more than a call sends in the longest step", t.PacketsSent, t.PacketsReceived, t.Calls)
	case s.Loss.Count > int64(t.CallsOK) || s.Jitter.Count > int64(t.CallsOK):
		return fmt.Errorf("%d calls set up, but %d loss and %d jitter values", t.CallsOK, s.Loss.Count, s.Jitter.Count)
	}
	return nil
}

// merge adds o, another shard's part of the same step.
func (s *LoadStep) merge(o LoadStep) error {
	for _, p := range [][2]*Histogram{{s.Loss, o.Loss}, {s.Jitter, o.Jitter}, {s.Alloc, o.Alloc}} {
		if err := p[0].Merge(p[1]); err != nil {
			return err
		}
	}
	t, ot := &s.Totals, o.Totals
	t.Calls += ot.Calls
	t.CallsOK += ot.CallsOK
	t.AllocsOK += ot.AllocsOK
	t.AllocsFailed += ot.AllocsFailed
	t.PacketsSent += ot.PacketsSent
	t.PacketsReceived += ot.PacketsReceived
	t.RelayedPPS = round3(t.RelayedPPS + ot.RelayedPPS)
	if ot.Cores > 0 && (t.Cores == 0 || ot.GeneratorCPUPct/float64(ot.Cores) > t.GeneratorCPUPct/float64(t.Cores)) {
		t.GeneratorCPUPct, t.Cores = ot.GeneratorCPUPct, ot.Cores
	}
	if o.Error != "" && s.Error == "" {
		s.Error = o.Error
	}
	return nil
}

// MergeLoad merges the shards of one run into the fleet's summary: the
// same run (everything in LoadRun but the shard), every shard once and
// the same steps. Totals add up, histograms merge; a step's error stays
// only when no call of the whole step was set up.
func MergeLoad(parts []*LoadSummary) (*LoadSummary, error) {
	if len(parts) == 0 {
		return nil, errors.New("nothing to merge")
	}
	first := parts[0].Run
	out := &LoadSummary{Run: first}
	out.Run.Shard, out.Run.Merged = 0, len(parts)
	if first.Shards < 1 || first.Shards > MaxShards {
		return nil, &MergeError{Part: 0, Why: fmt.Sprintf("a run of %d shards", first.Shards)}
	}
	if len(parts[0].Steps) == 0 || len(parts[0].Steps) > 64 {
		return nil, &MergeError{Part: 0, Why: fmt.Sprintf("%d steps: the run measured nothing, or is not a load run", len(parts[0].Steps))}
	}
	seen := make([]bool, first.Shards)
	for i, p := range parts {
		if err := sameRun(first, p.Run); err != nil {
			return nil, &MergeError{Part: i, Why: err.Error()}
		}
		if p.Run.Merged > 0 {
			return nil, &MergeError{Part: i, Why: "already a merge of shards"}
		}
		if p.Run.Shard < 0 || p.Run.Shard >= first.Shards {
			return nil, &MergeError{Part: i, Why: fmt.Sprintf("shard %d of %d", p.Run.Shard, first.Shards)}
		}
		if seen[p.Run.Shard] {
			return nil, &MergeError{Part: i, Why: fmt.Sprintf("shard %d/%d given twice", p.Run.Shard, first.Shards)}
		}
		seen[p.Run.Shard] = true
		if len(p.Steps) != len(parts[0].Steps) {
			return nil, &MergeError{Part: i, Why: fmt.Sprintf("%d steps, the first report %d", len(p.Steps), len(parts[0].Steps))}
		}
		for k, st := range p.Steps {
			if err := st.Validate(); err != nil {
				return nil, &MergeError{Part: i, Why: fmt.Sprintf("step %d: %v", k+1, err)}
			}
			if st.Calls != parts[0].Steps[k].Calls {
				return nil, &MergeError{Part: i, Why: fmt.Sprintf("step %d is of %d calls, the first report's of %d", k+1, st.Calls, parts[0].Steps[k].Calls)}
			}
		}
	}
	var missing []string
	for i, ok := range seen {
		if !ok && len(missing) < 10 {
			missing = append(missing, fmt.Sprintf("%d/%d", i, first.Shards))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the run has %d shards, %d reports given: missing shard %s", first.Shards, len(parts), strings.Join(missing, ", "))
	}
	for k, st := range parts[0].Steps {
		merged := newLoadStep(st.Calls)
		for _, p := range parts {
			if err := merged.merge(p.Steps[k]); err != nil {
				return nil, err
			}
		}
		if merged.Totals.Calls != st.Calls {
			return nil, fmt.Errorf("step %d: the shards ran %d calls, the step is of %d", k+1, merged.Totals.Calls, st.Calls)
		}
		if merged.Totals.CallsOK > 0 {
			merged.Error = ""
		}
		out.Steps = append(out.Steps, merged)
	}
	return out, nil
}

// MergeError is a part MergeLoad refuses: Part is its index.
type MergeError struct {
	Part int
	Why  string
}

func (e *MergeError) Error() string { return e.Why }

// sameRun says how b is not of the run a is.
func sameRun(a, b LoadRun) error {
	switch {
	case a.Shards != b.Shards:
		return fmt.Errorf("a run of %d shards, the first report's of %d", b.Shards, a.Shards)
	case !sameTime(a.StartAt, b.StartAt):
		return fmt.Errorf("another run: start_at %s, the first report's %s", timeText(b.StartAt), timeText(a.StartAt))
	case a.Calls != b.Calls || a.Ramp != b.Ramp:
		return fmt.Errorf("another run: %d calls (ramp %t), the first report's %d (ramp %t)", b.Calls, b.Ramp, a.Calls, a.Ramp)
	case a.DurationMS != b.DurationMS || a.IntervalMS != b.IntervalMS || a.PacketSize != b.PacketSize:
		return errors.New("another run: load duration, interval or packet size differ from the first report's")
	case fmt.Sprint(a.Thresholds) != fmt.Sprint(b.Thresholds):
		return fmt.Errorf("judged by other thresholds (%v) than the first report (%v)", b.Thresholds, a.Thresholds)
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339)
}
