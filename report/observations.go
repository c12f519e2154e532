package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/probes"
)

// ObservationLine is one observation in words: what was sent, to where,
// and what came back. "UDP 127.0.0.1:9 first request: ICMP port
// unreachable from 127.0.0.1 after 0.2 ms".
func ObservationLine(o probes.Observation) string {
	var b strings.Builder
	if o.Transport != "" {
		b.WriteString(strings.ToUpper(o.Transport) + " ")
	}
	if o.To != "" {
		b.WriteString(o.To + " ")
	}
	b.WriteString(o.Step + ": ")
	switch o.Outcome {
	case probes.OutcomeICMP:
		if o.ICMP != nil {
			b.WriteString("ICMP " + o.ICMP.Meaning)
			if o.ICMP.From != "" {
				b.WriteString(" from " + o.ICMP.From)
			}
			fmt.Fprintf(&b, " (type %d code %d)", o.ICMP.Type, o.ICMP.Code)
		} else {
			b.WriteString("ICMP error")
		}
	case probes.OutcomeSilence:
		b.WriteString("no answer")
	case probes.OutcomeErrorResponse:
		b.WriteString("refused")
	default:
		b.WriteString(strings.ReplaceAll(string(o.Outcome), "_", " "))
	}
	if o.Code != 0 || o.Reason != "" {
		b.WriteString(" " + strings.TrimSpace(fmt.Sprintf("%s %s", codeText(o.Code), o.Reason)))
	}
	if o.AfterMS > 0 {
		fmt.Fprintf(&b, " after %s ms", result.FormatNumber(o.AfterMS))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Headers)) {
		fmt.Fprintf(&b, "; %s: %s", k, o.Headers[k])
	}
	if o.Bytes != "" {
		b.WriteString("; first bytes: " + o.Bytes)
	}
	if o.Note != "" {
		b.WriteString("; " + o.Note)
	}
	return b.String()
}

func codeText(c int) string {
	if c == 0 {
		return ""
	}
	return fmt.Sprint(c)
}

// cleanObservations copies observations with every string safe to render.
func cleanObservations(in []probes.Observation) []probes.Observation {
	if in == nil {
		return nil
	}
	out := make([]probes.Observation, len(in))
	for i, o := range in {
		o.Step, o.Transport, o.To = sanitize.Text(o.Step), sanitize.Text(o.Transport), sanitize.Text(o.To)
		o.Reason, o.Bytes, o.Note = sanitize.Text(o.Reason), sanitize.Text(o.Bytes), sanitize.Text(o.Note)
		o.Outcome = probes.Outcome(sanitize.Text(string(o.Outcome)))
		if o.ICMP != nil {
			r := *o.ICMP
			r.From, r.Meaning = sanitize.Text(r.From), sanitize.Text(r.Meaning)
			o.ICMP = &r
		}
		if o.Headers != nil {
			h := make(map[string]string, len(o.Headers))
			for k, v := range o.Headers {
				h[sanitize.Text(k)] = sanitize.Text(v)
			}
			o.Headers = h
		}
		out[i] = o
	}
	return out
}

// cleanDiagnosis copies a diagnosis with every string safe to render.
func cleanDiagnosis(d *result.Diagnosis) *result.Diagnosis {
	if d == nil {
		return nil
	}
	c := *d
	c.Rule, c.Cause, c.TellApart, c.Advice = sanitize.Text(d.Rule), sanitize.Text(d.Cause), sanitize.Text(d.TellApart), sanitize.Text(d.Advice)
	c.Candidates, c.Refs = cleanTexts(d.Candidates), cleanTexts(d.Refs)
	return &c
}
