package report

import (
	"fmt"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// The parts of each writer that show a repeated run: pass rate, flapping
// and each key metric's spread across the iterations.

// statusLetters is a check's statuses as one letter an iteration:
// "PPFPPF".
func statusLetters(ss []result.Status) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(strings.ToUpper(string(s)[:1]))
	}
	return b.String()
}

// spread is "p50 12.3 / p95 15.1 (min 11.0, max 16.2)" for a key metric.
func spread(name string, s MetricSummary) string {
	return fmt.Sprintf("%s p50 %s, p95 %s (min %s, max %s)", name, result.FormatNumber(s.P50), result.FormatNumber(s.P95),
		result.FormatNumber(s.Min), result.FormatNumber(s.Max))
}

// keySpreads are the spreads of a repeated check's first key metrics.
func keySpreads(c RepeatedCheck, n int) []string {
	var out []string
	for _, m := range c.metricNames() {
		if len(out) == n {
			break
		}
		if s, ok := c.Metrics[m]; ok {
			out = append(out, spread(m, s))
		}
	}
	return out
}

// repeatLine is the verdict line of a repeated run.
func repeatLine(r Report) string {
	rp := r.Repeat
	flapping := 0
	for _, c := range rp.Checks {
		if c.Flaps > 0 {
			flapping++
		}
	}
	asked := ""
	switch {
	case rp.Asked > 0 && len(rp.Iterations) < rp.Asked:
		asked = fmt.Sprintf(" of %d asked", rp.Asked)
	case rp.Until > 0:
		asked = fmt.Sprintf(" over %s", rp.Until)
	}
	return fmt.Sprintf("%d iterations%s: %d checks flapped — worst %s in %s", len(rp.Iterations), asked, flapping,
		strings.ToUpper(string(r.Overall())), r.Duration.Round(millisecond(r.Duration)))
}
