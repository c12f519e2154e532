package precall

import (
	"fmt"
	"strings"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// words is the verdict in plain words for the user: a headline and a line
// per thing they care about (camera, microphone, browser, connection).
// It only reads the judged statuses; it judges nothing itself.
type words struct {
	Headline string
	Lines    []string
}

// labelLine says how the numbers were measured, so nobody reads them as
// an internet speed test.
const labelLine = "Measured between your browser and this server, not your internet speed."

func summarize(rep report.Report) words {
	var w words
	// The engine's outcome decides, as it decides the CLI's exit code and
	// the exporter's probe_success: warnings fail a run whose profile
	// fails on them, and a run that tested nothing is no all-clear.
	switch engine.OutcomeOf(rep) {
	case engine.Passed:
		w.Headline = "Your browser, devices and network are ready for calls."
		if rep.Summary().Status == result.Warn {
			w.Headline = "Calls should work, with the caveats below."
		}
	case engine.NothingChecked:
		w.Headline = "Nothing could be tested in this browser."
	default:
		w.Headline = "Calls will have problems from this browser or network: see below."
	}
	by := map[string][]result.Result{}
	for _, r := range rep.Results {
		by[r.CheckID] = append(by[r.CheckID], r)
	}
	if api := worst(by["browser.api"]); api != nil && api.Status.FailsRun(result.Fail) {
		w.Lines = append(w.Lines, "This browser lacks what calls need: "+api.Error+".")
	}
	w.Lines = append(w.Lines, device("camera", worst(by["browser.getusermedia.video"]), worst(by["browser.video.quality"])))
	w.Lines = append(w.Lines, device("microphone", worst(by["browser.getusermedia.audio"]), worst(by["browser.audio.quality"])))
	if line := connection(by["browser.interop"]); line != "" {
		w.Lines = append(w.Lines, line)
	}
	if line := servers(by["browser.ice"]); line != "" {
		w.Lines = append(w.Lines, line)
	}
	w.Lines = append(w.Lines, labelLine)
	var out []string
	for _, l := range w.Lines {
		if l != "" {
			out = append(out, l)
		}
	}
	w.Lines = out
	return w
}

// worst is the result of rs with the worst status (nil for none).
func worst(rs []result.Result) *result.Result {
	var out *result.Result
	for i := range rs {
		if out == nil || rs[i].Status.Worse(out.Status) {
			out = &rs[i]
		}
	}
	return out
}

// why is a result's advice, else its cause.
func why(r *result.Result) string {
	s := r.Advice
	if s == "" {
		s = r.Error
	}
	return strings.TrimSuffix(s, ".")
}

// lowerFirst lowers the first letter, for a sentence continued.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// device says whether a camera or microphone opened and what it
// delivered.
func device(name string, open, quality *result.Result) string {
	switch {
	case open == nil:
		return ""
	case open.Status == result.Skip:
		return "Your " + name + " was not tested."
	case open.Status == result.Fail || open.Status == result.Error:
		return "Your " + name + " could not be used: " + why(open) + "."
	case quality != nil && (quality.Status == result.Fail || quality.Status == result.Error):
		return "Your " + name + " opens, but what it delivers is unusable: " + why(quality) + "."
	case open.Status == result.Warn:
		return "Your " + name + " works, with a caveat: " + why(open) + "."
	case quality != nil && quality.Status == result.Warn:
		return "Your " + name + " works, with a caveat: " + why(quality) + "."
	}
	return "Your " + name + " works."
}

// connection says how calls between the browser and this server
// connect: directly, only through the relay, only through some relay
// transports, or not at all. The calls' paths are their subjects', not
// their names: a server may be called anything.
func connection(calls []result.Result) string {
	var all *result.Result
	var relayOK, relayBad []string
	for i, r := range calls {
		switch r.Subject.Path {
		case result.AllCandidates:
			all = &calls[i]
		case result.RelayOnly:
			if r.Status == result.Pass || r.Status == result.Warn {
				relayOK = append(relayOK, relayName(r.Subject.Target))
			} else {
				relayBad = append(relayBad, relayName(r.Subject.Target))
			}
		}
	}
	switch {
	case all == nil && len(relayOK)+len(relayBad) == 0:
		return ""
	case all != nil && (all.Status == result.Pass || all.Status == result.Warn):
		line := "Calls connect directly between your browser and this server."
		if viaRelay(all) {
			line = "Calls from this network connect only through the relay (TURN)."
		}
		if all.Status == result.Warn {
			line = strings.TrimSuffix(line, ".") + ", but " + lowerFirst(why(all)) + "."
		}
		if len(relayBad) > 0 {
			line += " The relay did not work over " + strings.Join(relayBad, ", ") + "."
		}
		return line
	case len(relayOK) > 0:
		return "Video calls will need the relay (" + strings.Join(relayOK, " or ") + ") from this network: a direct call did not connect."
	}
	if all != nil {
		return "Calls could not connect from this network: " + why(all) + "."
	}
	return "Calls through the relay could not connect from this network."
}

// viaRelay reports whether the browser's side of the call's selected pair
// is a relay candidate.
func viaRelay(r *result.Result) bool {
	sum, ok := r.Summary.(*browser.CallSummary)
	return ok && sum.Pair != nil && sum.Pair.Relayed()
}

// relayName says "TURN over TCP to port 443" for a relay-only call's
// TURN server and transport.
func relayName(t probes.Target) string {
	return fmt.Sprintf("TURN over %s to port %d", t.Transport.Upper(), t.Server.URI.Port)
}

// servers says which STUN/TURN servers the browser could not use.
func servers(ice []result.Result) string {
	var bad []string
	for _, r := range ice {
		if r.Status == result.Fail || r.Status == result.Error {
			bad = append(bad, r.Target)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("Your browser could not use %d of %d server connections: %s.", len(bad), len(ice), strings.Join(bad, ", "))
}

// detail is one result as the page lists it.
type detail struct {
	Check    string   `json:"check"`
	Title    string   `json:"title"`
	Target   string   `json:"target"`
	Status   string   `json:"status"`
	Measured []string `json:"measured"`
	Error    string   `json:"error,omitempty"`
	Advice   string   `json:"advice,omitempty"`
}

func details(rep report.Report) []detail {
	var out []detail
	for _, r := range rep.Results {
		d := detail{Check: r.CheckID, Title: r.Title, Target: r.Target, Status: string(r.Status), Error: r.Error, Advice: r.Advice}
		for _, k := range r.KeyMetrics {
			d.Measured = append(d.Measured, report.FormatMetric(k, r.Metrics[k]))
		}
		out = append(out, d)
	}
	return out
}
