package precall

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// TestSummarize: the verdict in words follows the judged statuses.
func TestSummarize(t *testing.T) {
	res := func(id, target string, st result.Status, advice string) result.Result {
		return result.Result{CheckID: id, Target: target, Status: st, Advice: advice, Error: "cause"}
	}
	// direct and relayed are all-candidates calls whose browser side
	// selected a host or a relay candidate.
	pair := func(local string) *browser.CallSummary {
		return &browser.CallSummary{Pair: &browser.CandidatePair{Local: local + " udp 10.0.0.1:5000", Remote: "host udp 10.0.0.2:6000", LocalType: local, RemoteType: "host"}}
	}
	all := func(st result.Status, advice string, sum *browser.CallSummary) result.Result {
		r := res("browser.interop", "all candidates", st, advice)
		r.Subject.Path = result.AllCandidates
		if sum != nil {
			r.Summary = sum
		}
		return r
	}
	relay := func(uri string, st result.Status) result.Result {
		s, err := probes.ParseServer(uri)
		if err != nil {
			t.Fatal(err)
		}
		tr := s.Transports()[0]
		r := res("browser.interop", "relay-only via "+uri, st, "")
		r.Subject = result.Subject{Path: result.RelayOnly, Target: probes.Target{Server: s, Transport: tr}}
		return r
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
			all(result.Pass, "", pair("host")),
		}, "ready for calls", []string{"Your camera works.", "Your microphone works.", "Calls connect directly", labelLine}},
		{"only the relay over TCP 443", []result.Result{
			res("browser.getusermedia.video", "browser", result.Fail, "Permission denied: allow the camera."),
			all(result.Fail, "ICE failed.", nil),
			relay("turn:turn.example.com:3478?transport=udp", result.Fail),
			relay("turns:turn.example.com:443?transport=tcp", result.Pass),
		}, "will have problems", []string{"Your camera could not be used: Permission denied: allow the camera.",
			"Video calls will need the relay (TURN over TLS to port 443) from this network"}},
		{"relayed call", []result.Result{
			all(result.Warn, "The call connected slowly.", pair("relay")),
		}, "caveats", []string{"connect only through the relay (TURN), but the call connected slowly"}},
		{"warnings fail a run that fails on them", []result.Result{
			all(result.Warn, "The call connected slowly.", nil),
		}, "will have problems", nil},
		{"nothing tested", []result.Result{
			res("browser.getusermedia.video", "browser", result.Skip, ""),
			all(result.Skip, "", nil),
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

// TestSummarizeReadsSubjects: the verdict follows each call's typed path
// and selected pair, whatever the names and evidence say. Names here are
// made to mislead: the old reading of Target and of the "browser pair"
// evidence's words would take the direct call for a relay-only one and
// the relayed pair for a direct one.
func TestSummarizeReadsSubjects(t *testing.T) {
	direct := result.Result{CheckID: "browser.interop", Target: "relay-only via turn:turn.example.com:443 (TCP)", Status: result.Pass,
		Subject:  result.Subject{Path: result.AllCandidates},
		Evidence: []probes.Evidence{{Name: "browser pair", Value: "host udp 10.0.0.1:5000 ↔ host udp 10.0.0.2:6000"}},
		Summary:  &browser.CallSummary{Pair: &browser.CandidatePair{LocalType: "relay"}}}
	w := summarize(report.Report{Results: []result.Result{direct}})
	if all := strings.Join(w.Lines, "\n"); !strings.Contains(all, "connect only through the relay (TURN).") {
		t.Errorf("a relayed all-candidates call named like a relay-only one:\n%s", all)
	}

	direct.Summary = &browser.CallSummary{Pair: &browser.CandidatePair{LocalType: "host"}}
	direct.Evidence = []probes.Evidence{{Name: "browser pair", Value: "relay udp 192.0.2.1:5000 ↔ host udp 10.0.0.2:6000"}}
	s, err := probes.ParseServer("turns:all-candidates.example.com:5349?transport=tcp")
	if err != nil {
		t.Fatal(err)
	}
	bad := result.Result{CheckID: "browser.interop", Target: "all candidates", Status: result.Fail,
		Subject: result.Subject{Path: result.RelayOnly, Target: probes.Target{Server: s, Transport: probes.TLS}}}
	w = summarize(report.Report{Results: []result.Result{bad, direct}})
	want := "Calls connect directly between your browser and this server. The relay did not work over TURN over TLS to port 5349."
	if !slices.Contains(w.Lines, want) {
		t.Errorf("lines\n%s\nwant %q", strings.Join(w.Lines, "\n"), want)
	}
}

// TestSummarizeJudgedCalls: calls judged as the page's posts are, from
// the catalogue's browser.interop subjects, give the verdict its facts.
func TestSummarizeJudgedCalls(t *testing.T) {
	var c *checks.Check
	for _, k := range checks.Catalog() {
		if k.ID == "browser.interop" {
			c = k
		}
	}
	s, err := probes.ParseServer("turn:turn.example.com:3478?transport=udp")
	if err != nil {
		t.Fatal(err)
	}
	s.Username, s.Password = "u", "p"
	plan := &checks.Plan{Servers: []probes.Server{s}}
	// A call that worked, its browser side on a relay candidate.
	page := browser.PageResult{OK: true, Result: json.RawMessage(`{"connectedMs": 200, "echoed": 10, "rttsMs": [5],
		"video": {"inbound": {"codec": "VP8", "packetsReceived": 100, "framesDecoded": 30}},
		"audio": {"inbound": {"codec": "opus", "packetsReceived": 100, "jitterMs": 2}},
		"pair": {"rttMs": 5, "local": "relay udp 192.0.2.1:50000", "remote": "host udp 198.51.100.2:6000", "localType": "relay", "remoteType": "host"}}`)}
	call := browser.CallStats{Video: probes.RTPCounts{Packets: 100, Frames: 30}, Audio: probes.RTPCounts{Packets: 100}}
	judged := func(failAll bool) []result.Result {
		var out []result.Result
		for _, sub := range c.Subjects(plan) {
			r := page
			if failAll && !sub.Target.Server.IsTURN() {
				r = browser.PageResult{Error: &browser.PageError{Name: "ConnectionFailedError", Message: "ICE failed"}}
			}
			out = append(out, c.Judge(sub, c.Remote.Measure(sub, plan, r, call), time.Second, plan.ThresholdsFor(c)))
		}
		return out
	}
	for _, tc := range []struct {
		failAll bool
		want    string
	}{
		{false, "Calls from this network connect only through the relay (TURN)."},
		{true, "Video calls will need the relay (TURN over UDP to port 3478) from this network: a direct call did not connect."},
	} {
		rs := judged(tc.failAll)
		if len(rs) != 2 {
			t.Fatalf("%d calls, want all candidates and one relay-only", len(rs))
		}
		w := summarize(report.Report{Results: rs})
		if !slices.Contains(w.Lines, tc.want) {
			var st []string
			for _, r := range rs {
				st = append(st, r.Target+": "+string(r.Status)+" "+r.Error)
			}
			t.Errorf("lines\n%s\nwant %q (results: %s)", strings.Join(w.Lines, "\n"), tc.want, strings.Join(st, "; "))
		}
	}
}

// TestSummarizeBoundaries: each line of the verdict against the statuses
// at its edges: a device that opens but delivers black or frozen frames
// (quality failed or errored) does not "work"; a relay transport that
// worked with a warning worked; an errored ICE server is among those the
// browser could not use.
func TestSummarizeBoundaries(t *testing.T) {
	res := func(id, target string, st result.Status, advice string) result.Result {
		return result.Result{CheckID: id, Target: target, Status: st, Advice: advice, Error: "cause"}
	}
	relay := func(uri string, st result.Status) result.Result {
		s, err := probes.ParseServer(uri)
		if err != nil {
			t.Fatal(err)
		}
		r := res("browser.interop", "relay-only via "+uri, st, "")
		r.Subject = result.Subject{Path: result.RelayOnly, Target: probes.Target{Server: s, Transport: s.Transports()[0]}}
		return r
	}
	all := func(st result.Status) result.Result {
		r := res("browser.interop", "all candidates", st, "ICE failed.")
		r.Subject.Path = result.AllCandidates
		return r
	}
	gum := func(st result.Status) result.Result {
		return res("browser.getusermedia.video", "browser", st, "Permission denied: allow the camera.")
	}
	quality := func(st result.Status) result.Result {
		return res("browser.video.quality", "browser", st, "The camera sends black frames.")
	}
	mic := func(st result.Status) result.Result { return res("browser.getusermedia.audio", "browser", st, "") }
	micQuality := func(st result.Status) result.Result {
		return res("browser.audio.quality", "browser", st, "The microphone sends silence.")
	}
	ice := func(target string, st result.Status) result.Result { return res("browser.ice", target, st, "") }
	for _, tc := range []struct {
		name    string
		results []result.Result
		want    string // a line of the verdict
	}{
		{"camera passes, quality passes", []result.Result{gum(result.Pass), quality(result.Pass)}, "Your camera works."},
		{"camera passes, quality warns", []result.Result{gum(result.Pass), quality(result.Warn)}, "Your camera works, with a caveat: The camera sends black frames."},
		{"camera passes, black frames", []result.Result{gum(result.Pass), quality(result.Fail)}, "Your camera opens, but what it delivers is unusable: The camera sends black frames."},
		{"camera passes, quality errored", []result.Result{gum(result.Pass), quality(result.Error)}, "Your camera opens, but what it delivers is unusable: The camera sends black frames."},
		{"camera warns, frozen frames", []result.Result{gum(result.Warn), quality(result.Fail)}, "Your camera opens, but what it delivers is unusable: The camera sends black frames."},
		{"camera passes, quality skipped", []result.Result{gum(result.Pass), quality(result.Skip)}, "Your camera works."},
		{"camera denied", []result.Result{gum(result.Fail), quality(result.Fail)}, "Your camera could not be used: Permission denied: allow the camera."},
		{"microphone silent", []result.Result{mic(result.Pass), micQuality(result.Fail)}, "Your microphone opens, but what it delivers is unusable: The microphone sends silence."},
		{"relay passes, direct fails", []result.Result{all(result.Fail), relay("turn:turn.example.com:3478?transport=udp", result.Pass)},
			"Video calls will need the relay (TURN over UDP to port 3478) from this network: a direct call did not connect."},
		{"relay warns, direct fails", []result.Result{all(result.Fail), relay("turn:turn.example.com:3478?transport=udp", result.Warn)},
			"Video calls will need the relay (TURN over UDP to port 3478) from this network: a direct call did not connect."},
		{"relay fails, direct fails", []result.Result{all(result.Fail), relay("turn:turn.example.com:3478?transport=udp", result.Fail)},
			"Calls could not connect from this network: ICE failed."},
		{"relay warns, direct passes", []result.Result{all(result.Pass), relay("turns:turn.example.com:443?transport=tcp", result.Warn)},
			"Calls connect directly between your browser and this server."},
		{"relay errored, direct passes", []result.Result{all(result.Pass), relay("turns:turn.example.com:443?transport=tcp", result.Error)},
			"Calls connect directly between your browser and this server. The relay did not work over TURN over TLS to port 443."},
		{"one server fails", []result.Result{ice("stun:a.example", result.Pass), ice("turn:b.example", result.Fail)},
			"Your browser could not use 1 of 2 server connections: turn:b.example."},
		{"one server errored", []result.Result{ice("stun:a.example", result.Pass), ice("turn:b.example", result.Error)},
			"Your browser could not use 1 of 2 server connections: turn:b.example."},
		{"failed and errored servers", []result.Result{ice("stun:a.example", result.Error), ice("turn:b.example", result.Warn), ice("turn:c.example", result.Fail)},
			"Your browser could not use 2 of 3 server connections: stun:a.example, turn:c.example."},
	} {
		w := summarize(report.Report{Results: tc.results})
		if !slices.Contains(w.Lines, tc.want) {
			t.Errorf("%s: lines\n%s\nwant %q", tc.name, strings.Join(w.Lines, "\n"), tc.want)
		}
	}
	// A server that only warned is no server the browser could not use.
	w := summarize(report.Report{Results: []result.Result{ice("stun:a.example", result.Pass), ice("turn:b.example", result.Warn)}})
	for _, l := range w.Lines {
		if strings.Contains(l, "could not use") {
			t.Errorf("warned servers listed as failed: %q", l)
		}
	}
}
