package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// loadFixture is a shard's load.turn result with its mergeable data.
func loadFixture() Report {
	step := func(calls int, vals ...float64) probes.LoadStep {
		s := probes.LoadStep{Calls: calls, Loss: probes.NewHistogram(), Jitter: probes.NewHistogram(), Alloc: probes.NewHistogram()}
		for _, v := range vals {
			s.Loss.Add(v / 10)
			s.Jitter.Add(v)
			s.Alloc.Add(v * 3)
			s.Alloc.Add(v * 4)
		}
		s.Totals = probes.LoadTotals{Calls: len(vals), CallsOK: len(vals), AllocsOK: 2 * len(vals), PacketsSent: 1000, PacketsReceived: 990,
			RelayedPPS: 99, GeneratorCPUPct: 12.5, Cores: 2}
		return s
	}
	start := clock.Add(time.Minute)
	sum := &probes.LoadSummary{
		Run: probes.LoadRun{Shard: 1, Shards: 3, StartAt: &start, Calls: 40, Ramp: true, DurationMS: 5000, IntervalMS: 20, PacketSize: 120,
			Thresholds: []string{"warn: loss_pct <= 1", "fail: loss_pct < 5"}},
		Steps: []probes.LoadStep{step(10, 0, 0, 1.5), step(20, 0, 2, 3, 4, 5, 0.5, 7)},
	}
	return Report{Version: "v1.2.3", StartedAt: clock, Duration: 20 * time.Second, Servers: []string{"turn:127.0.0.1:3478"},
		Results: []result.Result{{CheckID: "load.turn", Title: "TURN capacity", Target: "turn:127.0.0.1:3478", Status: result.Pass,
			Duration: 19 * time.Second, Metrics: sum.Steps[1].Metrics(), Summary: sum}}}
}

// A load report's histograms and totals validate against both schemas
// and read back as they were written: what rtcprobe merge reads is what
// the shard wrote.
func TestJSONLoadData(t *testing.T) {
	r := loadFixture()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	validateJSON(t, compileSchema(t), buf.Bytes())
	back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := back.Results[0].Summary.(*probes.LoadSummary)
	if got == nil || !reflect.DeepEqual(got, r.Results[0].Summary) {
		t.Fatalf("read back %+v\nwant %+v", got, r.Results[0].Summary)
	}
	// A repeated run's checks carry it too (schema v2).
	r.Repeat = &Repeat{Asked: 1, Iterations: []Iteration{{StartedAt: clock, Results: r.Results}}}
	r.Repeat.Checks = Summarize(r.Repeat.Iterations)
	buf.Reset()
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	validateJSON(t, compileSchemaFile(t, JSONSchemaRepeat, "https://github.com/rtcprobe/rtcprobe/report/schema/rtcprobe-v2.schema.json"), buf.Bytes())

	schema := compileSchema(t)
	bad := map[string]func(load map[string]any){
		"empty bucket":       func(l map[string]any) { step(l)["loss_pct"].(map[string]any)["buckets"] = []any{[]any{3, 0}} },
		"bucket not a pair":  func(l map[string]any) { step(l)["jitter_ms"].(map[string]any)["buckets"] = []any{[]any{3}} },
		"no alloc histogram": func(l map[string]any) { delete(step(l), "alloc_ms") },
		"no totals":          func(l map[string]any) { delete(step(l), "totals") },
		"unknown field":      func(l map[string]any) { step(l)["p95"] = 3 },
		"shards over 1000":   func(l map[string]any) { l["run"].(map[string]any)["shards"] = 1001 },
		"threshold no level": func(l map[string]any) { l["run"].(map[string]any)["thresholds"] = []any{"loss_pct < 5"} },
	}
	for name, mutate := range bad {
		t.Run("rejects/"+name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, loadFixture()); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			mutate(m["checks"].([]any)[0].(map[string]any)["load"].(map[string]any))
			if err := schema.Validate(m); err == nil {
				t.Error("schema accepted it")
			}
		})
	}
}

func step(load map[string]any) map[string]any { return load["steps"].([]any)[0].(map[string]any) }
