package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture is a report with a fixed clock and fixed metrics.
func fixture() Report {
	return Report{
		Version:   "v0.0.0-test",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration:  1234 * time.Millisecond,
		Servers:   []string{"stun:127.0.0.1:3478", "turn:127.0.0.1:3478"},
		Results: []result.Result{
			{CheckID: "stun.udp", Title: "STUN binding over UDP", Target: "stun:127.0.0.1:3478", Status: result.Pass,
				Duration: 1500 * time.Microsecond, KeyMetrics: []string{"rtt_median_ms", "rtt_p95_ms", "loss_pct"},
				Metrics:  map[string]float64{"rtt_median_ms": 0.042, "rtt_p95_ms": 0.118, "loss_pct": 0, "requests": 5, "responses": 5},
				Evidence: []probes.Evidence{{Name: "mapped_address", Value: "127.0.0.1:50000"}, {Name: "mapped_family", Value: "IPv4"}}},
			{CheckID: "stun.tcp", Title: "STUN binding over TCP", Target: "stun:198.51.100.7:3478", Status: result.Warn,
				Duration: 40 * time.Millisecond, KeyMetrics: []string{"rtt_median_ms", "rtt_p95_ms", "loss_pct"},
				Metrics: map[string]float64{"rtt_median_ms": 180.5, "rtt_p95_ms": 212.25, "loss_pct": 0},
				Error:   "rtt_p95_ms is 212, want < 150 (warn)"},
			{CheckID: "stun.udp", Title: "STUN binding over UDP", Target: "stun:127.0.0.1:9", Status: result.Fail,
				Duration: 2 * time.Second, Error: "no response from 127.0.0.1:9 over UDP in 2s",
				Observations: []probes.Observation{{Step: "first request", Transport: "udp", To: "127.0.0.1:9", Outcome: probes.OutcomeSilence, AfterMS: 2000}},
				Advice:       "Nothing answered: a firewall on the path silently drops UDP to 127.0.0.1:9, or no server listens there."},
		},
	}
}

// golden compares with the STUN-only fixture's files in the repository's
// top-level testdata (the fuller fixtures live in report/testdata).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	compareGolden(t, filepath.Join("..", "testdata", "golden", name), got)
}

func TestTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, fixture(), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", buf.Bytes())
	if strings.Contains(buf.String(), "\x1b[") {
		t.Error("colors without Color option")
	}
}

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", buf.Bytes())

	var doc struct {
		Schema  string `json:"schema"`
		Summary struct {
			Status                        string
			Total, Pass, Warn, Fail, Skip int
		} `json:"summary"`
		Checks []map[string]any `json:"checks"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != Schema || doc.Summary.Status != "fail" || doc.Summary.Total != 3 || doc.Summary.Pass != 1 || doc.Summary.Warn != 1 || doc.Summary.Fail != 1 {
		t.Errorf("summary = %+v", doc.Summary)
	}
	for _, c := range doc.Checks {
		for _, k := range []string{"id", "target", "status", "duration_ms", "metrics", "error", "advice"} {
			if _, ok := c[k]; !ok {
				t.Errorf("check %v lacks %q", c["id"], k)
			}
		}
	}
}

func TestFormatMetric(t *testing.T) {
	tests := map[string]string{
		FormatMetric("rtt_p95_ms", 0.1184):  "rtt p95 0.118 ms",
		FormatMetric("loss_pct", 2.5):       "loss 2.50%",
		FormatMetric("bitrate_kbps", 812.7): "bitrate 813 kbit/s",
		FormatMetric("mos", 4.1):            "mos 4.10",
		FormatMetric("responses", 5):        "responses 5",
	}
	for got, want := range tests {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
