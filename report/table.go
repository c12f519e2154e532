package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// TableOptions adjusts the terminal table.
type TableOptions struct {
	// Color marks statuses with ANSI colors (only on a terminal, and not
	// when NO_COLOR is set: the caller decides).
	Color bool
	// Width caps the details column (default 60 characters).
	Width int
}

var statusColors = map[result.Status]string{
	result.Pass: "\x1b[32m", result.Warn: "\x1b[33m", result.Fail: "\x1b[31m",
	result.Error: "\x1b[35m", result.Skip: "\x1b[90m",
}

// WriteTable renders one row per result and a summary line. Skips with
// the same cause (no browser skips every browser check) are folded into
// one line under the table instead of a row each.
func WriteTable(w io.Writer, r Report, opt TableOptions) error {
	r = r.clean()
	if opt.Width <= 0 {
		opt.Width = 60
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint()),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
		tablewriter.WithColumnWidths(tw.NewMapper[int, int]().Set(4, opt.Width)),
		tablewriter.WithHeaderAutoFormat(tw.On),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	t.Header("check", "target", "status", "measured", "details")
	rows, folds := foldSkips(r.Results)
	for _, res := range rows {
		status := strings.ToUpper(string(res.Status))
		if opt.Color {
			status = statusColors[res.Status] + status + "\x1b[0m"
		}
		if err := t.Append(res.CheckID, res.Target, status, measured(res), details(res)); err != nil {
			return err
		}
	}
	if len(rows) > 0 || len(folds) == 0 {
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, f := range folds {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	if r.Repeat != nil {
		return writeRepeatTable(w, r)
	}
	_, err := fmt.Fprintln(w, SummaryLine(r))
	return err
}

// writeRepeatTable adds, under the last iteration's table, one row per
// check across the iterations and the repeated run's verdict.
func writeRepeatTable(w io.Writer, r Report) error {
	if _, err := fmt.Fprintf(w, "last iteration: %s\n", SummaryLine(Report{Results: r.Results, Duration: lastDuration(r)})); err != nil {
		return err
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint()),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
		tablewriter.WithColumnWidths(tw.NewMapper[int, int]().Set(5, 60)),
		tablewriter.WithHeaderAutoFormat(tw.On),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	t.Header("check", "target", "pass rate", "flaps", "statuses", "across iterations")
	for _, c := range r.Repeat.Checks {
		if err := t.Append(c.CheckID, c.Target, c.passRateText(r.failOn()),
			fmt.Sprint(c.Flaps), statusLetters(c.Statuses), strings.Join(keySpreads(c, 3), "\n")); err != nil {
			return err
		}
	}
	if len(r.Repeat.Checks) > 0 {
		if err := t.Render(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, repeatLine(r))
	return err
}

func lastDuration(r Report) time.Duration {
	if its := r.Repeat.Iterations; len(its) > 0 {
		return its[len(its)-1].Duration
	}
	return 0
}

// SummaryLine is the one-line verdict: "7 checks: 6 pass, 1 warn — PASS in 1.2s".
func SummaryLine(r Report) string {
	s := r.Summary()
	var parts []string
	for _, st := range result.Statuses {
		if n := s.Counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing ran")
	}
	noun := "checks"
	if s.Total == 1 {
		noun = "check"
	}
	return fmt.Sprintf("%d %s: %s — %s in %s", s.Total, noun, strings.Join(parts, ", "),
		strings.ToUpper(string(s.Status)), r.Duration.Round(millisecond(r.Duration)))
}

func measured(res result.Result) string {
	var out []string
	for _, name := range res.KeyMetrics {
		if v, ok := res.Metrics[name]; ok {
			out = append(out, FormatMetric(name, v))
		}
	}
	return strings.Join(out, "\n")
}

func details(res result.Result) string {
	if res.Status == result.Pass {
		if len(res.Evidence) > 0 {
			e := res.Evidence[0]
			return strings.ReplaceAll(e.Name, "_", " ") + " " + e.Value
		}
		return ""
	}
	if res.Advice == "" {
		return res.Error
	}
	return res.Error + " → " + res.Advice
}

// skipFold is two or more skipped results with the same cause.
type skipFold struct {
	ids   []string // the check ID of each result
	cause string
}

// foldSkips splits results into the table's rows and the skips that share
// their cause with another skip, grouped by cause in order of appearance.
func foldSkips(results []result.Result) (rows []result.Result, folds []skipFold) {
	count := map[string]int{}
	for _, res := range results {
		if res.Status == result.Skip {
			count[details(res)]++
		}
	}
	index := map[string]int{}
	for _, res := range results {
		cause := details(res)
		if res.Status != result.Skip || count[cause] < 2 {
			rows = append(rows, res)
			continue
		}
		i, ok := index[cause]
		if !ok {
			i, index[cause] = len(folds), len(folds)
			folds = append(folds, skipFold{cause: cause})
		}
		folds[i].ids = append(folds[i].ids, res.CheckID)
	}
	return rows, folds
}

// String is the fold's line: "17 browser.* checks skipped: cause".
func (f skipFold) String() string {
	return fmt.Sprintf("%d %s skipped: %s", len(f.ids), checksNamed(f.ids), f.cause)
}

// checksNamed names a set of check IDs: "browser.ice checks" when they
// are one check's, "browser.* checks" when they share a group, else
// "checks (stun.tls, turn.tls)".
func checksNamed(ids []string) string {
	same, group := true, result.Group(ids[0])
	var distinct []string
	for _, id := range ids {
		same = same && id == ids[0]
		if result.Group(id) != group {
			group = ""
		}
		if !slices.Contains(distinct, id) {
			distinct = append(distinct, id)
		}
	}
	switch {
	case same:
		return ids[0] + " checks"
	case group != "":
		return group + ".* checks"
	}
	return "checks (" + strings.Join(distinct, ", ") + ")"
}
