package checks

import (
	"maps"
	"slices"
	"strings"
)

// The metric contract: a check reports only the metrics it declares
// (Check.Metrics), so that a threshold on any metric it reports is
// accepted, and `rtcprobe list` and the README name every one; and a
// check that ran to the end reports every metric it declares but those
// Check.Sometimes names. The tests hold every check to it
// (cmd/rtcprobe's TestMetricContract).

// Undeclared returns the names in metrics that the check does not
// declare, sorted: what breaks the contract.
func (c *Check) Undeclared(metrics map[string]float64) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(metrics)) {
		if !slices.Contains(c.Metrics, name) {
			out = append(out, name)
		}
	}
	return out
}

// Unreported returns the declared metrics that none of reported has,
// leaving out those the check reports only sometimes: reported are the
// metrics of the check's results that ran to the end (pass or warn), as
// one run gives them.
func (c *Check) Unreported(reported ...map[string]float64) []string {
	var out []string
	for _, name := range c.Metrics {
		if _, sometimes := c.Sometimes[name]; sometimes {
			continue
		}
		if !slices.ContainsFunc(reported, func(m map[string]float64) bool { _, ok := m[name]; return ok }) {
			out = append(out, name)
		}
	}
	return out
}

// metricList joins metric lists, each name once, in order: a check's
// own metrics, then those of what it builds on (a call's set-up).
func metricList(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, name := range l {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// MetricsText lists the check's metrics for people, in declared order:
// each name quoted, one reported only sometimes followed by when
// ("connect_ms (over TCP and TLS)"). rtcprobe list and the README's
// checks table show it.
func (c *Check) MetricsText(quote func(string) string) string {
	var b strings.Builder
	for i, name := range c.Metrics {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(name))
		if when, ok := c.Sometimes[name]; ok {
			b.WriteString(" (" + when + ")")
		}
	}
	return b.String()
}
