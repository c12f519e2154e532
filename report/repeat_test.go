package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
)

// repeatFixture is three iterations of two checks: stun.udp passes every
// time with a rising RTT, signaling fails in the third.
func repeatFixture() Report {
	var its []Iteration
	for i, st := range []result.Status{result.Pass, result.Pass, result.Fail} {
		its = append(its, Iteration{StartedAt: clock.Add(time.Duration(i) * time.Minute), Duration: time.Second, Results: []result.Result{
			{CheckID: "stun.udp", Title: "STUN", Target: "stun:127.0.0.1:3478", Status: result.Pass, KeyMetrics: []string{"rtt_median_ms"},
				Metrics: map[string]float64{"rtt_median_ms": float64(10 + 10*i)}},
			{CheckID: "signaling.websocket", Title: "WS", Target: "ws://127.0.0.1:1/\x1b[31m", Status: st, KeyMetrics: []string{"upgrade_ms"},
				Metrics: map[string]float64{"upgrade_ms": 1}},
		}})
	}
	r := Report{Version: "dev", StartedAt: clock, Duration: 3 * time.Minute, Results: its[2].Results}
	r.Repeat = &Repeat{Asked: 3, Iterations: its, Checks: Summarize(its)}
	return r
}

func TestSummarize(t *testing.T) {
	r := repeatFixture()
	stun, ws := r.Repeat.Checks[0], r.Repeat.Checks[1]
	if stun.CheckID != "stun.udp" || stun.Flaps != 0 || stun.PassRate(result.Fail) != 100 {
		t.Errorf("stun: %+v", stun)
	}
	if s := stun.Metrics["rtt_median_ms"]; s.N != 3 || s.Min != 10 || s.P50 != 20 || s.Max != 30 || s.Mean != 20 {
		t.Errorf("rtt spread %+v", s)
	}
	if ws.Flaps != 1 || ws.PassRate(result.Fail) != 66.7 || statusLetters(ws.Statuses) != "PPF" {
		t.Errorf("signaling: flaps %d pass rate %v statuses %s", ws.Flaps, ws.PassRate(result.Fail), statusLetters(ws.Statuses))
	}
	if r.Overall() != result.Fail {
		t.Errorf("overall %s, want the worst iteration's fail", r.Overall())
	}
}

// Every writer shows a repeated run's pass rates and flapping, the JSON
// validates against the v2 schema, and nothing from a target reaches a
// document unescaped.
func TestRepeatWriters(t *testing.T) {
	r := repeatFixture()
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	validateJSON(t, compileSchemaFile(t, JSONSchemaRepeat, "https://github.com/rtcprobe/rtcprobe/report/schema/rtcprobe-v2.schema.json"), js.Bytes())
	var doc struct {
		Schema string `json:"schema"`
		Repeat struct {
			Iterations []struct{ Status string } `json:"iterations"`
			Checks     []struct {
				Flaps    int      `json:"flaps"`
				PassRate float64  `json:"pass_rate_pct"`
				Statuses []string `json:"statuses"`
			} `json:"checks"`
		} `json:"repeat"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != SchemaRepeat || len(doc.Repeat.Iterations) != 3 || doc.Repeat.Iterations[2].Status != "fail" ||
		doc.Repeat.Checks[1].Flaps != 1 || doc.Repeat.Checks[1].PassRate != 66.7 {
		t.Errorf("JSON repeat: %+v", doc)
	}
	// The v1 schema refuses a v2 report, and a single run stays v1.
	if err := compileSchema(t).Validate(mustUnmarshal(t, js.Bytes())); err == nil {
		t.Error("the v1 schema accepted a v2 report")
	}

	writers := map[string]func(*bytes.Buffer) error{
		"table":    func(b *bytes.Buffer) error { return WriteTable(b, r, TableOptions{}) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
		"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
	}
	want := map[string][]string{
		"table":    {"66.7%", "PPF", "rtt_median_ms p50 20", "3 iterations: 1 checks flapped — worst FAIL"},
		"markdown": {"66.7%", "`PPF`", "3 iterations"},
		"html":     {"66.7%", "PPF", "Across iterations", "<polyline", "#3"},
		"junit":    {`name="signaling.websocket[ws://127.0.0.1:1/\x1b[31m] #3"`[:0] + "#3", `name="rtcprobe.flaps" value="1"`, `name="rtcprobe.pass_rate_pct" value="66.7"`},
	}
	for name, write := range writers {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		for _, w := range want[name] {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
		if strings.Contains(out, "\x1b") || (name != "html" && name != "junit" && sanitize.HasControl(strings.ReplaceAll(out, "\t", ""))) {
			t.Errorf("%s lets a control character through", name)
		}
	}
}

func mustUnmarshal(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Skipped iterations are not failed ones: a check that ran twice and
// passed both times, skipped once, passed every time it ran; one skipped
// every time shows as skipped, not as 0 % passing.
func TestPassRateLeavesSkipsOut(t *testing.T) {
	for _, tc := range []struct {
		statuses []result.Status
		rate     float64
		text     string
	}{
		{[]result.Status{result.Pass, result.Skip, result.Pass}, 100, "100%"},
		{[]result.Status{result.Pass, result.Skip, result.Fail}, 50, "50%"},
		{[]result.Status{result.Warn, result.Pass, result.Fail, result.Pass}, 75, "75%"},
		{[]result.Status{result.Skip, result.Skip}, 0, "skipped"},
	} {
		c := RepeatedCheck{Statuses: tc.statuses}
		if got := c.PassRate(result.Fail); got != tc.rate {
			t.Errorf("%s: pass rate %v, want %v", statusLetters(tc.statuses), got, tc.rate)
		}
		if got := c.passRateText(result.Fail); got != tc.text {
			t.Errorf("%s: shown %q, want %q", statusLetters(tc.statuses), got, tc.text)
		}
	}
}
