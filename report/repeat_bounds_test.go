package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// repeated is a repeated run of one check whose iterations have the
// statuses given as letters ("PFW…") and the values of one metric, in
// iteration order.
func repeated(t *testing.T, letters string, values []float64) Report {
	t.Helper()
	st := map[byte]result.Status{'P': result.Pass, 'W': result.Warn, 'F': result.Fail, 'S': result.Skip, 'E': result.Error}
	var its []Iteration
	for i := range len(letters) {
		s, ok := st[letters[i]]
		if !ok {
			t.Fatalf("status letter %q", letters[i])
		}
		r := result.Result{CheckID: "stun.udp", Title: "STUN", Target: "stun:127.0.0.1:3478", Status: s, KeyMetrics: []string{"rtt_median_ms"}}
		if i < len(values) {
			r.Metrics = map[string]float64{"rtt_median_ms": values[i]}
		}
		its = append(its, Iteration{StartedAt: clock.Add(time.Duration(i) * time.Minute), Duration: time.Second, Results: []result.Result{r}})
	}
	rep := Report{Version: "dev", StartedAt: clock, Duration: time.Duration(len(its)) * time.Minute, Results: its[len(its)-1].Results}
	rep.Repeat = &Repeat{Asked: len(its), Iterations: its, Checks: Summarize(its)}
	return rep
}

// TestSummarizeFlaps: a flap is a status change from one iteration to the
// next, not a difference from the first iteration.
func TestSummarizeFlaps(t *testing.T) {
	for _, tc := range []struct {
		statuses string
		flaps    int
	}{
		{"P", 0},
		{"PPP", 0},
		{"PPF", 1},
		{"PFFF", 1}, // against the first iteration: 3
		{"PFPF", 3}, // against the first iteration: 2
		{"FPPP", 1}, // against the first iteration: 3
		{"PWFP", 3},
		{"PSP", 2},
	} {
		c := repeated(t, tc.statuses, nil).Repeat.Checks[0]
		if c.Flaps != tc.flaps || statusLetters(c.Statuses) != tc.statuses {
			t.Errorf("%s: %d flaps (statuses %s), want %d", tc.statuses, c.Flaps, statusLetters(c.Statuses), tc.flaps)
		}
	}
}

// TestSummarizeSpreadUnordered: the percentiles across iterations are
// those of the values sorted, whatever order the iterations measured
// them in (nearest rank: p50 of five is the third, p95 the fifth).
func TestSummarizeSpreadUnordered(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		values                   []float64
		min, p50, p95, max, mean float64
	}{
		{"rising", []float64{10, 20, 30, 40, 50}, 10, 30, 50, 50, 30},
		{"falling", []float64{50, 40, 30, 20, 10}, 10, 30, 50, 50, 30},
		{"shuffled", []float64{30, 50, 10, 40, 20}, 10, 30, 50, 50, 30},
		{"worst first", []float64{90, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, 1, 10, 19, 90, 14},
		{"one", []float64{7}, 7, 7, 7, 7, 7},
	} {
		letters := strings.Repeat("P", len(tc.values))
		s := repeated(t, letters, tc.values).Repeat.Checks[0].Metrics["rtt_median_ms"]
		if s.N != len(tc.values) || s.Min != tc.min || s.P50 != tc.p50 || s.P95 != tc.p95 || s.Max != tc.max || s.Mean != tc.mean {
			t.Errorf("%s %v: %+v, want min %v p50 %v p95 %v max %v mean %v", tc.name, tc.values, s, tc.min, tc.p50, tc.p95, tc.max, tc.mean)
		}
	}
}

// TestRepeatOverallIsTheWorstIteration: a repeated run is as bad as its
// worst iteration, whichever iteration that was; the report's Results
// are only the last one's.
func TestRepeatOverallIsTheWorstIteration(t *testing.T) {
	for _, tc := range []struct {
		statuses string
		want     result.Status
	}{
		{"PPP", result.Pass},
		{"FPP", result.Fail},
		{"PFP", result.Fail},
		{"PPF", result.Fail},
		{"WPP", result.Warn},
		{"EPF", result.Error},
		{"SSP", result.Pass},
	} {
		r := repeated(t, tc.statuses, nil)
		if got := r.Overall(); got != tc.want {
			t.Errorf("%s: overall %s, want %s", tc.statuses, got, tc.want)
		}
		if got := r.Summary().Status; got != tc.want {
			t.Errorf("%s: summary %s, want %s", tc.statuses, got, tc.want)
		}
		var b bytes.Buffer
		if err := WriteTable(&b, r, TableOptions{}); err != nil {
			t.Fatal(err)
		}
		if want := "worst " + strings.ToUpper(string(tc.want)); !strings.Contains(b.String(), want) {
			t.Errorf("%s: the table lacks %q:\n%s", tc.statuses, want, b.String())
		}
	}
}

// TestRepeatPassRateFollowsFailOn: every writer's pass rate counts a
// warning as passing only when the run does not fail on warnings.
func TestRepeatPassRateFollowsFailOn(t *testing.T) {
	for _, tc := range []struct {
		failOn result.Status
		rate   string
	}{
		{"", "75"},
		{result.Fail, "75"},
		{result.Warn, "25"},
	} {
		r := repeated(t, "WPFW", nil)
		r.FailOn = tc.failOn
		writers := map[string]struct {
			write func(*bytes.Buffer) error
			want  string
		}{
			"json":     {func(b *bytes.Buffer) error { return WriteJSON(b, r) }, `"pass_rate_pct": ` + tc.rate + ","},
			"junit":    {func(b *bytes.Buffer) error { return WriteJUnit(b, r) }, `name="rtcprobe.pass_rate_pct" value="` + tc.rate + `"`},
			"table":    {func(b *bytes.Buffer) error { return WriteTable(b, r, TableOptions{}) }, " " + tc.rate + "% "},
			"markdown": {func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }, "| " + tc.rate + "% |"},
			"html":     {func(b *bytes.Buffer) error { return WriteHTML(b, r) }, ">" + tc.rate + "%<"},
		}
		for name, w := range writers {
			var b bytes.Buffer
			if err := w.write(&b); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !strings.Contains(b.String(), w.want) {
				t.Errorf("fail on %q: %s lacks %q:\n%s", tc.failOn, name, w.want, b.String())
			}
			if name == "junit" && strings.Count(b.String(), w.want) != 4 {
				t.Errorf("fail on %q: junit has %q %d times, want once an iteration", tc.failOn, w.want, strings.Count(b.String(), w.want))
			}
		}
	}
}
