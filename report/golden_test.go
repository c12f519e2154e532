package report

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// clock is the fixed start of the fixture run.
var clock = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fullFixture is a run with every status, advice, evidence and a media-like
// time series, with fixed times and metrics.
func fullFixture() Report {
	var series []probes.Sample
	for i := 0; i < 12; i++ {
		series = append(series, probes.Sample{At: clock.Add(time.Duration(i) * time.Second), Metrics: map[string]float64{
			"rtt_ms":       40 + float64(i%4)*6 + float64(i),
			"bitrate_kbps": 300 + float64(i)*95 - float64(i%3)*40,
			"loss_pct":     []float64{0, 0, 0.5, 0, 1.2, 3.4, 0.8, 0, 0, 0.2, 0, 0}[i],
		}})
	}
	return Report{
		Version:   "v1.2.3",
		StartedAt: clock,
		Duration:  4210 * time.Millisecond,
		Servers:   []string{"stun:127.0.0.1:3478", "turn:turn.example.com:3478?transport=udp"},
		Environment: Environment{
			OS: "linux 6.1.0-18-amd64 (amd64)", GoVersion: "go1.26.8", Browser: "Chromium 131.0.6778.85",
			Profile: "ci", Config: "rtcprobe.yml",
		},
		Results: []result.Result{
			{
				CheckID: "stun.udp", Title: "STUN binding over UDP", Target: "stun:127.0.0.1:3478", Status: result.Pass,
				Duration: 12300 * time.Microsecond, Started: 200 * time.Microsecond, Ended: 12500 * time.Microsecond, KeyMetrics: []string{"rtt_median_ms", "rtt_p95_ms", "loss_pct"},
				Metrics:  map[string]float64{"rtt_median_ms": 0.21, "rtt_p95_ms": 0.34, "loss_pct": 0, "requests": 5, "responses": 5},
				Evidence: []probes.Evidence{{Name: "mapped_address", Value: "127.0.0.1:51234"}},
			},
			{
				CheckID: "stun.tcp", Title: "STUN binding over TCP", Target: "stun:127.0.0.1:3478", Status: result.Warn,
				Duration: 310 * time.Millisecond, Started: 300 * time.Microsecond, Ended: 310300 * time.Microsecond, KeyMetrics: []string{"rtt_median_ms", "rtt_p95_ms", "loss_pct"},
				Metrics: map[string]float64{"rtt_median_ms": 120, "rtt_p95_ms": 182.5, "loss_pct": 0},
				Error:   "rtt_p95_ms is 182, want < 150 (warn)",
			},
			{
				CheckID: "turn.udp", Title: "TURN allocation over UDP", Target: "turn:turn.example.com:3478?transport=udp", Status: result.Fail,
				Duration: 2 * time.Second, Started: 12600 * time.Microsecond, Ended: 2012600 * time.Microsecond, Metrics: map[string]float64{},
				Error:  "401 Unauthorized <realm \"example.com\"> & more",
				Advice: "The server wants credentials (realm \"example.com\"): the username or password is missing or wrong.",
				Observations: []probes.Observation{
					{Step: "Allocate request", Transport: "udp", To: "198.51.100.7:3478", Outcome: probes.OutcomeErrorResponse, AfterMS: 31.5, Code: 401, Reason: "Unauthorized <script>", Headers: map[string]string{"REALM": "example.com"}},
					{Step: "follow-up: Binding request", Transport: "udp", To: "198.51.100.7:3479", Outcome: probes.OutcomeICMP, AfterMS: 0.4,
						ICMP: &probes.ICMPReport{Type: 3, Code: 13, From: "203.0.113.1", Meaning: "communication administratively prohibited"}},
				},
				Diagnosis: &result.Diagnosis{Rule: "stun-401", Cause: "the server wants credentials", Refs: []string{"RFC 8489 §9.2.4"}},
			},
			{
				CheckID: "media.audio", Title: "Audio round trip through TURN", Target: "turn:turn.example.com:3478?transport=udp", Status: result.Pass,
				Duration: 12 * time.Second, Started: 1500 * time.Millisecond, Ended: 13500 * time.Millisecond,
				KeyMetrics: []string{"mos", "rtt_p95_ms", "loss_pct"},
				Metrics:    map[string]float64{"mos": 4.21, "rtt_p95_ms": 64, "loss_pct": 0.51, "bitrate_kbps": 812.5, "jitter_ms": 3.2},
				Series:     series,
			},
			{
				CheckID: "stun.tls", Title: "STUN binding over TLS", Target: "(no stuns: server)", Status: result.Skip, Started: 100 * time.Microsecond, Ended: 150 * time.Microsecond,
				Error: "not supported here: no stuns: server configured",
			},
			{
				CheckID: "browser.devices", Title: "Camera and microphone", Target: "chromium", Status: result.Error,
				Duration: 5 * time.Second, Error: "the check did not stop at its deadline (a bug in rtcprobe)",
			},
		},
	}
}

var writers = []struct {
	name  string
	file  string
	write func(io.Writer, Report) error
}{
	{"table", "report.txt", func(w io.Writer, r Report) error { return WriteTable(w, r, TableOptions{}) }},
	{"json", "report.json", WriteJSON},
	{"junit", "report.junit.xml", WriteJUnit},
	{"html", "report.html", WriteHTML},
	{"markdown", "report.md", WriteMarkdown},
}

func TestGolden(t *testing.T) {
	for _, failOn := range []result.Status{result.Fail, result.Warn} {
		for _, wr := range writers {
			t.Run(wr.name+"/fail-on-"+string(failOn), func(t *testing.T) {
				r := fullFixture()
				r.FailOn = failOn
				var buf bytes.Buffer
				if err := wr.write(&buf, r); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", "fail-on-"+string(failOn), wr.file)
				compareGolden(t, golden, buf.Bytes())
			})
		}
	}
}

func TestGoldenEmpty(t *testing.T) {
	for _, wr := range writers {
		t.Run(wr.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := wr.write(&buf, Report{Version: "v1.2.3", StartedAt: clock}); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "golden", "empty", wr.file), buf.Bytes())
		})
	}
}

func compareGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n%s", golden, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

// Every JSON report, whatever it holds, validates against the schema file
// shipped in the repository.
func TestJSONSchema(t *testing.T) {
	schema := compileSchema(t)
	reports := map[string]Report{"fixture": fullFixture(), "empty": {Version: "dev", StartedAt: clock}}
	odd := fullFixture()
	odd.Results[0].Metrics["nan"] = math.NaN() // JSON has no NaN: left out
	odd.Results[1].Metrics["inf_ms"] = math.Inf(1)
	odd.FailOn = result.Warn
	reports["nan and fail-on-warn"] = odd
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, r); err != nil {
				t.Fatal(err)
			}
			validateJSON(t, schema, buf.Bytes())
		})
	}
	// The schema must reject what a v1 report cannot be.
	bad := map[string]func(m map[string]any){
		"wrong schema": func(m map[string]any) { m["schema"] = "rtcprobe/v2" },
		"bad status":   func(m map[string]any) { m["checks"].([]any)[0].(map[string]any)["status"] = "ok" },
		"string metric": func(m map[string]any) {
			m["checks"].([]any)[0].(map[string]any)["metrics"].(map[string]any)["loss_pct"] = "0"
		},
		"no summary":  func(m map[string]any) { delete(m, "summary") },
		"credentials": func(m map[string]any) { m["servers"] = []any{"turn:alice:pw@example.com"} },
	}
	for name, mutate := range bad {
		t.Run("rejects/"+name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, fullFixture()); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			mutate(m)
			if err := schema.Validate(m); err == nil {
				t.Error("schema accepted it")
			}
		})
	}
}

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return compileSchemaFile(t, JSONSchema, "https://github.com/rtcprobe/rtcprobe/report/schema/rtcprobe-v1.schema.json")
}

func compileSchemaFile(t testing.TB, schema []byte, url string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateJSON(t testing.TB, s *jsonschema.Schema, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("report does not validate: %v", err)
	}
}

func BenchmarkWriters(b *testing.B) {
	r := fullFixture()
	for _, wr := range writers {
		b.Run(wr.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := wr.write(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The page stands alone (nothing to fetch, no scripts), escapes what
// servers send, and charts every series metric.
func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, fullFixture()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"http://", "https://", "<script", "<link", "@import", "url(", `<realm "example.com">`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(page, "401 Unauthorized &lt;realm &#34;example.com&#34;&gt; &amp; more") {
		t.Error("the server's error text is not escaped")
	}
	if n := strings.Count(page, "<polyline"); n != 3 {
		t.Errorf("%d charts, want 3 (rtt, bitrate, loss)", n)
	}
	for _, want := range []string{"rtt (ms)", "bitrate (kbit/s)", "loss (%)", "Chromium 131.0.6778.85", "2 pass", "1 warn", "1 fail"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ span, want float64 }{{4, 1}, {3.4, 1}, {1265, 500}, {80, 20}, {0.9, 0.5}, {0, 1}} {
		if got := niceStep(tt.span, 4); got != tt.want {
			t.Errorf("niceStep(%v) = %v, want %v", tt.span, got, tt.want)
		}
	}
}

// Charts cope with samples out of order, flat lines and negative values:
// delta spans -4..3, so the axis runs -4..4 in steps of 2 and 3 sits at
// 130 - 7/8*118 = 26.8 px.
func TestChartsEdgeCases(t *testing.T) {
	at := func(s int) time.Time { return clock.Add(time.Duration(s) * time.Second) }
	cs := charts([]probes.Sample{
		{At: at(2), Metrics: map[string]float64{"flat_ms": 0, "delta_ms": -4}},
		{At: at(0), Metrics: map[string]float64{"flat_ms": 0, "delta_ms": 3, "once": 1}},
		{At: at(1), Metrics: map[string]float64{"flat_ms": 0, "delta_ms": math.NaN()}},
	})
	if len(cs) != 2 {
		t.Fatalf("%d charts, want 2 (a metric seen once is not charted)", len(cs))
	}
	for _, c := range cs {
		for _, pt := range c.Dots {
			if pt.X < float64(c.Left) || pt.X > float64(c.Right) || pt.Y < float64(c.Top) || pt.Y > float64(c.Bottom) {
				t.Errorf("%s: point %+v outside the plot", c.Title, pt)
			}
		}
	}
	if cs[0].Title != "delta (ms)" || cs[0].Points != "52,26.8 316,130" {
		t.Errorf("delta chart %q: %q", cs[0].Title, cs[0].Points)
	}
}
