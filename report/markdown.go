package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

var statusMarks = map[result.Status]string{
	result.Pass: "✅", result.Warn: "⚠️", result.Fail: "❌", result.Skip: "⏭️", result.Error: "💥",
}

// WriteMarkdown writes a compact summary for a CI job summary or a ticket:
// the verdict, one table row per result, the environment.
func WriteMarkdown(w io.Writer, r Report) error {
	r = r.clean()
	s := r.Summary()
	var b strings.Builder
	fmt.Fprintf(&b, "## rtcprobe: %s %s\n\n", statusMarks[s.Status], strings.ToUpper(string(s.Status)))
	fmt.Fprintf(&b, "%s", mdEscape(SummaryLine(r)))
	if r.FailOn == result.Warn {
		b.WriteString(" (warnings fail this run)")
	}
	b.WriteString("\n\n")
	if len(r.Results) > 0 {
		b.WriteString("| Status | Check | Target | Measured | Details |\n|---|---|---|---|---|\n")
		for _, res := range r.Results {
			fmt.Fprintf(&b, "| %s %s | `%s` | %s | %s | %s |\n", statusMarks[res.Status], res.Status,
				res.CheckID, mdEscape(res.Target), mdEscape(strings.ReplaceAll(measured(res), "\n", ", ")), mdEscape(mdDetails(res)))
		}
		b.WriteString("\n")
	}
	if rp := r.Repeat; rp != nil {
		fmt.Fprintf(&b, "**%s**\n\n| Check | Target | Pass rate | Flaps | Statuses | Across iterations |\n|---|---|---|---|---|---|\n", mdEscape(repeatLine(r)))
		for _, c := range rp.Checks {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %d | `%s` | %s |\n", c.CheckID, mdEscape(c.Target), c.passRateText(r.failOn()),
				c.Flaps, statusLetters(c.Statuses), mdEscape(strings.Join(keySpreads(c, 2), "; ")))
		}
		b.WriteString("\n")
	}
	env := environmentRows(r)
	if len(env) > 0 {
		b.WriteString("<details><summary>Environment</summary>\n\n| | |\n|---|---|\n")
		for _, kv := range env {
			fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdDetails(res result.Result) string {
	switch {
	case res.Status == result.Pass:
		return details(res)
	case res.Advice != "":
		return res.Error + " — " + res.Advice
	}
	return res.Error
}

// mdEscape keeps a cell one cell: no pipes, no newlines, no raw HTML.
var mdReplacer = strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "'")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

// environmentRows are the environment facts every human-facing report
// shows, in order; empty ones are left out.
func environmentRows(r Report) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	add("rtcprobe", r.Version)
	add("OS", r.Environment.OS)
	add("Go", r.Environment.GoVersion)
	add("Browser", r.Environment.Browser)
	add("Profile", r.Environment.Profile)
	add("Config", r.Environment.Config)
	add("Client address", r.Environment.Client)
	if !r.StartedAt.IsZero() {
		add("Started", r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	add("Servers", strings.Join(r.Servers, ", "))
	return out
}
