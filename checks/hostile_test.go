package checks_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/internal/testkit/hostile"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// verdict is what one check must conclude against a hostile server: its
// status and words of its cause.
type verdict struct {
	status checks.Status
	cause  string
}

// hostileDeadline is each check's deadline in the catalogue; every check
// must end by it plus hostileGrace, whatever the server does.
const (
	hostileDeadline = time.Second
	hostileGrace    = 250 * time.Millisecond
)

// grace is hostileGrace, or 1 s under the race detector: instrumented code
// runs several times slower, and more so beside the browser tests that run
// at the same time. The binary, not instrumented, is held to 250 ms in
// cmd/rtcprobe.
func grace() time.Duration {
	if testenv.RaceDetector() {
		return time.Second
	}
	return hostileGrace
}

// hostileChecks are the checks that talk to a server directly.
const hostileChecks = "stun.udp,stun.tcp,turn.udp,turn.tcp,ice.relay,signaling"

// silent is what every check concludes from a server that never answers
// (TCP, which a turn: URI without ?transport= adds as a diagnostic, only
// warns when it gets no answer either).
var silent = map[string]verdict{
	"stun.udp":            {checks.Fail, "no response from"},
	"stun.tcp":            {checks.Fail, "accepted the TCP connection but answered no STUN Binding request"},
	"turn.udp":            {checks.Fail, "no response from"},
	"turn.tcp":            {checks.Warn, "no response from"},
	"ice.relay":           {checks.Fail, "the TURN server did not answer the allocation"},
	"signaling.websocket": {checks.Fail, "HTTP Upgrade with"},
}

// with is silent with some verdicts replaced.
func with(over map[string]verdict) map[string]verdict {
	out := map[string]verdict{}
	for k, v := range silent {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// TestHostileServers runs every check that talks to a server against each
// misbehaviour of the hostile fixture, directly and, for HTTP, as the
// proxy: each must reach its verdict and cause by its deadline + 250 ms,
// leak no goroutine, and leave no control character and no secret in any
// report. (Peak memory per mode is measured on the binary in
// cmd/rtcprobe.)
func TestHostileServers(t *testing.T) {
	badSTUN := func(cause string) map[string]verdict {
		return with(map[string]verdict{
			"stun.udp": {checks.Fail, cause}, "stun.tcp": {checks.Fail, cause},
			"turn.udp": {checks.Fail, cause}, "turn.tcp": {checks.Fail, cause},
			"ice.relay": {checks.Fail, "no relay candidate"},
		})
	}
	tests := []struct {
		mode  hostile.Mode
		proxy bool
		want  map[string]verdict
		// evidence: words one of a check's evidence values must hold.
		evidence map[string]string
	}{
		{mode: hostile.Healthy, want: with(map[string]verdict{
			"stun.udp": {checks.Pass, ""}, "stun.tcp": {checks.Pass, ""}, "signaling.websocket": {checks.Pass, ""}})},
		{mode: hostile.Healthy, proxy: true, want: map[string]verdict{
			"stun.tcp": {checks.Pass, ""}, "signaling.websocket": {checks.Pass, ""}}},
		{mode: hostile.HeaderLine, want: with(map[string]verdict{
			"signaling.websocket": {checks.Fail, "header line longer than 8192 bytes"}})},
		{mode: hostile.HeaderLine, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "answer to CONNECT: header line longer than 8192 bytes"},
			"signaling.websocket": {checks.Fail, "answer to CONNECT: header line longer than 8192 bytes"}}},
		{mode: hostile.HeaderCount, want: with(map[string]verdict{
			"signaling.websocket": {checks.Fail, "more than 100 header lines"}})},
		{mode: hostile.HeaderCount, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "more than 100 header lines"},
			"signaling.websocket": {checks.Fail, "more than 100 header lines"}}},
		// The Upgrade succeeds: what the server sends next is evidence.
		{mode: hostile.Flood101, want: with(map[string]verdict{
			"signaling.websocket": {checks.Pass, ""},
			"stun.tcp":            {checks.Fail, "the server floods"}, "turn.tcp": {checks.Fail, "the server floods"}}),
			evidence: map[string]string{"signaling.websocket": "no pong: none among the first 1 MiB"}},
		{mode: hostile.Flood101, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "bad answer"},
			"signaling.websocket": {checks.Fail, "no HTTP answer to the Upgrade request: status line longer than 8192 bytes"}}},
		// What dribbles in before the deadline is no STUN answer.
		{mode: hostile.Dribble, want: with(map[string]verdict{
			"stun.tcp": {checks.Fail, "but answered no STUN Binding request"}})},
		{mode: hostile.Dribble, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "proxy CONNECT with %s over TCP timed out after"},
			"signaling.websocket": {checks.Fail, "proxy CONNECT with %s over TCP timed out after"}}},
		{mode: hostile.NoRead, want: silent},
		{mode: hostile.NoRead, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "proxy CONNECT with %s over TCP timed out after"},
			"signaling.websocket": {checks.Fail, "proxy CONNECT with %s over TCP timed out after"}}},
		{mode: hostile.Silent, want: silent},
		{mode: hostile.WrongTransaction, want: with(map[string]verdict{
			"stun.udp": {checks.Fail, "but with a transaction ID that matches no request"},
			"stun.tcp": {checks.Fail, "but with a transaction ID that matches no request"}})},
		{mode: hostile.Truncated, want: badSTUN("not a STUN message")},
		{mode: hostile.AttrLength65535, want: badSTUN("not a STUN message")},
		// A valid answer, if absurd: STUN is satisfied, TURN is not.
		{mode: hostile.ManyAttributes, want: with(map[string]verdict{
			"stun.udp": {checks.Pass, ""}, "stun.tcp": {checks.Pass, ""},
			"turn.udp": {checks.Fail, "without XOR-RELAYED-ADDRESS"}, "turn.tcp": {checks.Fail, "without XOR-RELAYED-ADDRESS"},
			"ice.relay": {checks.Fail, "no relay candidate"}})},
		{mode: hostile.BadFamily, want: with(map[string]verdict{
			"stun.udp": {checks.Fail, "without XOR-MAPPED-ADDRESS"}, "stun.tcp": {checks.Fail, "without XOR-MAPPED-ADDRESS"},
			"turn.udp": {checks.Fail, "without XOR-RELAYED-ADDRESS"}, "turn.tcp": {checks.Fail, "without XOR-RELAYED-ADDRESS"},
			"ice.relay": {checks.Fail, "no relay candidate"}})},
		{mode: hostile.ControlChars, want: with(map[string]verdict{
			"stun.udp":            {checks.Fail, `400 Bad Request\x1b[2J\x1b]0;owned\x07`},
			"stun.tcp":            {checks.Fail, `400 Bad Request\x1b[2J\x1b]0;owned\x07`},
			"turn.udp":            {checks.Fail, `403 Forbidden\x1b[2J\x1b]0;owned\x07`},
			"turn.tcp":            {checks.Fail, `403 Forbidden\x1b[2J\x1b]0;owned\x07`},
			"signaling.websocket": {checks.Fail, `HTTP 403 Forbidden\x1b[2J\x1b]0;owned\x07 instead of 101`}})},
		{mode: hostile.ControlChars, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, `refused CONNECT to ` + "%s" + `: 403 Forbidden\x1b[2J\x1b]0;owned\x07`},
			"signaling.websocket": {checks.Fail, `refused CONNECT to ` + "%s" + `: 403 Forbidden\x1b[2J\x1b]0;owned\x07`}}},
		{mode: hostile.Fresh401, want: with(map[string]verdict{
			"stun.udp": {checks.Fail, "401 Unauthorized"}, "stun.tcp": {checks.Fail, "401 Unauthorized"},
			"turn.udp": {checks.Fail, "401 Unauthorized"}, "turn.tcp": {checks.Fail, "401 Unauthorized"},
			"ice.relay": {checks.Fail, "no relay candidate"}, "signaling.websocket": {checks.Fail, "HTTP 401 Unauthorized"}})},
		{mode: hostile.Fresh401, proxy: true, want: map[string]verdict{
			"stun.tcp":            {checks.Fail, "407 Proxy Authentication Required"},
			"signaling.websocket": {checks.Fail, "407 Proxy Authentication Required"}}},
		{mode: hostile.Alternate, want: with(map[string]verdict{
			"stun.udp": {checks.Fail, "300 Try Alternate"}, "stun.tcp": {checks.Fail, "300 Try Alternate"},
			"turn.udp": {checks.Fail, "300 Try Alternate"}, "turn.tcp": {checks.Fail, "300 Try Alternate"},
			"ice.relay": {checks.Fail, "no relay candidate"}, "signaling.websocket": {checks.Fail, "HTTP 307 Temporary Redirect"}})},
	}
	// Each mode has a server of its own and mostly waits out a deadline:
	// the modes run at once, and the goroutine check covers them all.
	testenv.CheckGoroutines(t)
	for _, tt := range tests {
		name := string(tt.mode)
		if tt.proxy {
			name += " as proxy"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startHostile(t, tt.mode)
			plan := hostilePlan(t, srv, tt.proxy)
			results := runHostile(t, plan)
			for _, r := range results {
				want, ok := tt.want[r.CheckID]
				if !ok {
					t.Errorf("%s %s: no verdict expected, got %s: %s", r.CheckID, r.Target, r.Status, r.Error)
					continue
				}
				cause := strings.ReplaceAll(want.cause, "%s", srv.Addr())
				slow := want.status == checks.Pass && onlyRTT(r.Broken) // latency, not the fault under test
				if (r.Status != want.status || !strings.Contains(r.Error, cause)) && !slow {
					t.Errorf("%s %s: %s %q, want %s with %q", r.CheckID, r.Target, r.Status, r.Error, want.status, cause)
				}
				if words, ok := tt.evidence[r.CheckID]; ok && !slices.ContainsFunc(evidenceValues(r), func(v string) bool { return strings.Contains(v, words) }) {
					t.Errorf("%s %s: no evidence says %q: %v", r.CheckID, r.Target, words, r.Evidence)
				}
				if r.CheckID == "signaling.websocket" && strings.Contains(r.Advice, "STUN") {
					t.Errorf("%s: advice about STUN for a WebSocket server: %q", r.Target, r.Advice)
				}
			}
			assertReportsClean(t, results)
		})
	}
}

// TestTURNServerDiesMidRelay: a TURN server killed after relaying some of
// the packets fails the check, saying after how many and why, with loss
// counted against all the packets meant to be sent.
func TestTURNServerDiesMidRelay(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, check := range []string{"turn.udp", "turn.tcp"} {
		t.Run(check, func(t *testing.T) {
			t.Parallel()
			srv := startHostile(t, hostile.DiesMidRelay)
			plan := hostilePlan(t, srv, false)
			plan.Checks = selectChecks(t, check)
			plan.Settings.CheckTimeout = 5 * time.Second
			plan.Settings.TURNPackets = 200
			results := runHostile(t, plan)
			if len(results) != 1 {
				t.Fatalf("%d results, want 1", len(results))
			}
			r := results[0]
			cause := map[string]string{"turn.udp": "refused UDP", "turn.tcp": "closed the TCP connection during relay test"}[check]
			if r.Status != checks.Fail || !strings.Contains(r.Error, "the relay test stopped after") || !strings.Contains(r.Error, "of 200 packets") ||
				!strings.Contains(r.Error, cause) {
				t.Errorf("%s %q, want fail: stopped after N of 200 packets, %s", r.Status, r.Error, cause)
			}
			if sent, got := r.Metrics["packets_sent"], r.Metrics["packets_received"]; sent >= 200 || got > sent ||
				r.Metrics["loss_rtt_pct"] != probes.LossPct(200, int(got)) || r.Metrics["loss_ab_pct"] != probes.LossPct(200, int(r.Metrics["packets_at_peer"])) {
				t.Errorf("sent %v received %v, round-trip loss %v%%, a→b %v%%: loss must count against the 200 meant to be sent",
					sent, got, r.Metrics["loss_rtt_pct"], r.Metrics["loss_ab_pct"])
			}
			assertReportsClean(t, results)
		})
	}
}

func startHostile(t *testing.T, mode hostile.Mode) *hostile.Server {
	t.Helper()
	srv, err := hostile.Start(mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// hostilePlan aims the catalogue at srv, directly or (asProxy) through
// srv as the HTTP proxy. Credentials and the signaling token hold
// "S3cret", which no report may show.
func hostilePlan(t *testing.T, srv *hostile.Server, asProxy bool) *checks.Plan {
	t.Helper()
	host, selection := srv.Addr(), hostileChecks
	settings := config.Settings{STUNCount: 3, CheckTimeout: hostileDeadline, Timeout: 20 * time.Second}
	if asProxy {
		selection = "stun.tcp,signaling"
		settings.Proxy = &url.URL{Scheme: "http", Host: srv.Addr()}
	}
	ws, err := probes.ParseWebSocketURL("ws://" + host + "/signal?token=S3cret")
	if err != nil {
		t.Fatal(err)
	}
	plan := &checks.Plan{Checks: selectChecks(t, selection), Settings: settings, SignalingURLs: []*url.URL{ws}}
	for _, raw := range []string{"stun:" + host, "turn:" + host} {
		s, err := probes.ParseServer(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.Username, s.Password = hostile.Username, hostile.Password
		plan.Servers = append(plan.Servers, s)
	}
	return plan
}

func selectChecks(t *testing.T, spec string) []*checks.Check {
	t.Helper()
	patterns, err := config.ParseSelection(checks.Entries(checks.Catalog()), spec)
	if err != nil {
		t.Fatal(err)
	}
	return checks.Select(checks.Catalog(), patterns)
}

// runHostile runs the plan and holds every check to its deadline.
func runHostile(t *testing.T, plan *checks.Plan) []checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	results := checks.Run(ctx, plan, nil)
	took := time.Since(start)
	if len(results) == 0 {
		t.Fatal("nothing ran")
	}
	deadline := plan.Settings.CheckTimeout + grace()
	for _, r := range results {
		if r.Duration > deadline || r.Status == checks.Error {
			t.Errorf("%s %s: %s after %s (deadline %s): %s", r.CheckID, r.Target, r.Status, r.Duration, plan.Settings.CheckTimeout, r.Error)
		}
		if strings.Contains(r.Error, " after 0s") {
			t.Errorf("%s %s: %q does not say how long it waited", r.CheckID, r.Target, r.Error)
		}
	}
	// The TURN checks of one credential allocate one after another, the
	// rest run at once.
	if took > 2*plan.Settings.CheckTimeout+grace() {
		t.Errorf("the run took %s with a %s deadline per check", took, plan.Settings.CheckTimeout)
	}
	return results
}

// assertReportsClean renders results with every writer: no control
// character reaches a terminal or a document (JSON escapes them), and no
// secret appears anywhere.
func assertReportsClean(t *testing.T, results []checks.Result) {
	t.Helper()
	rep := report.Report{Version: "test", StartedAt: time.Now(), Results: results}
	writers := map[string]func(io.Writer) error{
		"table":    func(w io.Writer) error { return report.WriteTable(w, rep, report.TableOptions{}) },
		"json":     func(w io.Writer) error { return report.WriteJSON(w, rep) },
		"junit":    func(w io.Writer) error { return report.WriteJUnit(w, rep) },
		"html":     func(w io.Writer) error { return report.WriteHTML(w, rep) },
		"markdown": func(w io.Writer) error { return report.WriteMarkdown(w, rep) },
		"details":  func(w io.Writer) error { return report.WriteDetails(w, rep) },
		"progress": func(w io.Writer) error {
			p := report.NewProgress(w, len(results), false)
			for _, r := range results {
				p.Result(r)
			}
			return nil
		},
	}
	for name, write := range writers {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		out := buf.String()
		if strings.Contains(out, "S3cret") {
			t.Errorf("%s report shows a secret", name)
		}
		if name != "json" && sanitize.HasControl(out) {
			t.Errorf("%s report carries a raw control character", name)
		}
		if name == "json" && strings.ContainsAny(out, "\x00\x07\x1b") {
			t.Errorf("json report carries a raw control character")
		}
	}
	for _, r := range results { // what the probes produced, before any writer
		for _, s := range append([]string{r.Error, r.Advice, r.Target}, evidenceValues(r)...) {
			if sanitize.HasControl(s) {
				t.Errorf("%s %s: %q reached the result unsanitized", r.CheckID, r.Target, s)
			}
		}
	}
}

// onlyRTT is true when a result broke thresholds on round-trip times
// and nothing else: a check that should pass may do that on a loaded
// machine (the fixture answers from the same two cores).
func onlyRTT(broken []checks.Violation) bool {
	for _, v := range broken {
		if !strings.HasPrefix(v.Metric, "rtt_") {
			return false
		}
	}
	return len(broken) > 0
}

func evidenceValues(r checks.Result) []string {
	var out []string
	for _, e := range r.Evidence {
		if e.Name != "stack" {
			out = append(out, e.Value)
		}
	}
	return out
}

// TestAuditHostileServers runs the audit's rows against each misbehaviour
// of the hostile fixture: every row ends by its deadline (the audit is
// measured once, by the first row), no UDP row claims an arrival it could
// not have seen (no witness is named; a TCP relay's Connect success is
// proof of its own), and no report holds a control character or the
// credentials.
func TestAuditHostileServers(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, mode := range append([]hostile.Mode{hostile.Healthy}, hostile.Modes...) {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			srv := startHostile(t, mode)
			plan := hostilePlan(t, srv, false)
			plan.Checks = selectChecks(t, "audit")
			plan.Memo = checks.NewMemo(0)
			results := runHostile(t, plan)
			for _, r := range results {
				if r.CheckID == "audit.udp" && r.Metrics["reached"] > 0 {
					t.Errorf("%s %s: reached %v with no witness named", r.CheckID, r.Target, r.Metrics["reached"])
				}
			}
			assertReportsClean(t, results)
		})
	}
}
