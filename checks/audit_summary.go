package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// auditSummaryCheck is the audit's last row per server: the worst of the
// server's audit rows, how many failed and warned, and the coturn
// settings that close every hole found, gathered in one place. Its run
// measures nothing; the rule across results judges it.
func auditSummaryCheck() *Check {
	return auditCheck(&Check{
		ID:    "audit.summary",
		Title: "TURN audit: summary",
		Description: "The grade of the server's audit: the worst status of its rows, how many fail and warn, and every setting the fixes name, " +
			"as lines for coturn's turnserver.conf.",
		Metrics:  []string{"rows_fail", "rows_warn", "rows_pass", "rows"},
		Subjects: func(p *Plan) []Subject { return serverSubjects(p, nil) },
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			var m probes.Measurement
			for _, name := range []string{"rows_fail", "rows_warn", "rows_pass", "rows"} {
				m.SetMetric(name, 0)
			}
			return m
		},
		Across: auditGrade,
	})
}

// auditGrade judges each summary row from the other audit rows of its
// host (its turns: listeners' TLS rows among them).
func auditGrade(mine []*Result, all []Result) {
	for _, sum := range mine {
		host := sum.Subject.Target.Server.URI.Host
		counts := map[Status]int{}
		var failed, warned []string
		var lines, notes []string
		worst := Pass
		for _, r := range all {
			if Group(r.CheckID) != "audit" || r.CheckID == "audit.summary" || r.Subject.Target.Server.URI.Host != host {
				continue
			}
			counts[r.Status]++
			if r.Status.Worse(worst) && r.Status != Skip {
				worst = r.Status
			}
			switch r.Status {
			case Fail:
				failed = append(failed, rowName(r))
			case Warn:
				warned = append(warned, rowName(r))
			}
			if f, ok := r.Summary.(*auditFinding); ok && f != nil && (r.Status == Fail || r.Status == Warn) {
				for _, l := range f.coturn {
					if !slices.Contains(lines, l) {
						lines = append(lines, l)
					}
				}
				if f.note != "" && !slices.Contains(notes, f.note) {
					notes = append(notes, f.note)
				}
			}
		}
		rows := 0
		for _, n := range counts {
			rows += n
		}
		sum.Metrics = map[string]float64{"rows_fail": float64(counts[Fail]), "rows_warn": float64(counts[Warn]),
			"rows_pass": float64(counts[Pass]), "rows": float64(rows)}
		sum.KeyMetrics = []string{"rows_fail", "rows_warn", "rows_pass"}
		sum.Status, sum.Error, sum.Advice = worst, "", ""
		grade := "A: every row passes"
		switch worst {
		case Fail:
			grade = fmt.Sprintf("F: %d row(s) fail (%s)", len(failed), strings.Join(failed, ", "))
			if len(warned) > 0 {
				grade += fmt.Sprintf(", %d warn (%s)", len(warned), strings.Join(warned, ", "))
			}
		case Warn:
			grade = fmt.Sprintf("B: %d row(s) warn (%s)", len(warned), strings.Join(warned, ", "))
		case Error:
			grade = "the audit could not finish"
		}
		sum.Evidence = []probes.Evidence{{Name: "grade", Value: grade}}
		if worst == Fail || worst == Warn {
			sum.Error = grade
		}
		if len(lines) > 0 {
			sum.Evidence = append(sum.Evidence, probes.Evidence{Name: "turnserver.conf", Value: strings.Join(lines, "; ")})
			sum.Advice = "For coturn, add to turnserver.conf: " + strings.Join(lines, "; ") + "."
		}
		sum.Advice = joinSentences(sum.Advice, strings.Join(notes, " "))
	}
}

// rowName names an audit row in the summary: its check and, for a peer
// row, its class.
func rowName(r Result) string {
	if _, class, ok := strings.Cut(r.Target, " → "); ok {
		return strings.TrimPrefix(r.CheckID, "audit.") + " " + class
	}
	return strings.TrimPrefix(r.CheckID, "audit.")
}
