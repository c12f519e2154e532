package precall

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// TestSummarize: the verdict in words follows the judged statuses.
func TestSummarize(t *testing.T) {
	res := func(id, target string, st result.Status, advice string, ev ...probes.Evidence) result.Result {
		return result.Result{CheckID: id, Target: target, Status: st, Advice: advice, Error: "cause", Evidence: ev}
	}
	for _, tc := range []struct {
		name     string
		results  []result.Result
		headline string
		lines    []string
	}{
		{"all good, direct", []result.Result{
			res("browser.getusermedia.video", "browser", result.Pass, ""),
			res("browser.getusermedia.audio", "browser", result.Pass, ""),
			res("browser.interop", "all candidates", result.Pass, "", probes.Evidence{Name: "browser pair", Value: "host udp 10.0.0.1:5000 ↔ host udp 10.0.0.2:6000"}),
		}, "ready for calls", []string{"Your camera works.", "Your microphone works.", "Calls connect directly", labelLine}},
		{"only the relay over TCP 443", []result.Result{
			res("browser.getusermedia.video", "browser", result.Fail, "Permission denied: allow the camera."),
			res("browser.interop", "all candidates", result.Fail, "ICE failed."),
			res("browser.interop", "relay-only via turn:turn.example.com:3478 (UDP)", result.Fail, ""),
			res("browser.interop", "relay-only via turns:turn.example.com:443 (TLS)", result.Pass, ""),
		}, "will have problems", []string{"Your camera could not be used: Permission denied: allow the camera.",
			"Video calls will need the relay (TURN over TLS to port 443) from this network"}},
		{"relayed call", []result.Result{
			res("browser.interop", "all candidates", result.Warn, "The call connected slowly.", probes.Evidence{Name: "browser pair", Value: "relay udp 192.0.2.1:5000 ↔ host udp 198.51.100.2:6000"}),
		}, "caveats", []string{"connect only through the relay (TURN), but the call connected slowly"}},
		{"warnings fail a run that fails on them", []result.Result{
			res("browser.interop", "all candidates", result.Warn, "The call connected slowly."),
		}, "will have problems", nil},
		{"nothing tested", []result.Result{
			res("browser.getusermedia.video", "browser", result.Skip, ""),
			res("browser.interop", "all candidates", result.Skip, ""),
		}, "Nothing could be tested", nil},
	} {
		rep := report.Report{Results: tc.results}
		if strings.HasPrefix(tc.name, "warnings fail") {
			rep.FailOn = result.Warn
		}
		w := summarize(rep)
		if !strings.Contains(w.Headline, tc.headline) {
			t.Errorf("%s: headline %q, want %q", tc.name, w.Headline, tc.headline)
		}
		all := strings.Join(w.Lines, "\n")
		for _, l := range tc.lines {
			if !strings.Contains(all, l) {
				t.Errorf("%s: lines\n%s\nwant %q", tc.name, all, l)
			}
		}
	}
}
