package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/probes"
)

// evil is what a hostile server would like a report to carry: clear the
// screen, retitle the terminal, ring the bell, reverse the text, and NUL
// padding.
const evil = "x\x1b[2J\x1b]0;owned\x07\x00y\u202e\u009b31m\r\nz\x00\x00"

// evilFixture puts evil in every string a report holds.
func evilFixture() Report {
	r := fullFixture()
	r.Version = evil
	r.Servers = append(r.Servers, evil)
	r.Environment.OS, r.Environment.Browser, r.Environment.Profile, r.Environment.Config = evil, evil, evil, evil
	for i := range r.Results {
		res := &r.Results[i]
		res.Target, res.Title, res.Error, res.Advice = evil, evil, evil, evil
		res.Evidence = append(res.Evidence, probes.Evidence{Name: evil, Value: evil})
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		res.Metrics[evil+"_ms"] = 1
		res.KeyMetrics = append(res.KeyMetrics, evil+"_ms")
	}
	return r
}

// No control character from a result reaches a terminal or a document,
// whatever the writer (JSON escapes them its own way).
func TestWritersEscapeControlCharacters(t *testing.T) {
	r := evilFixture()
	for _, wr := range writers {
		t.Run(wr.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := wr.write(&buf, r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if wr.name == "json" {
				if !json.Valid(buf.Bytes()) || strings.ContainsAny(out, "\x00\x07\x1b\r") {
					t.Errorf("JSON is invalid or carries raw control characters")
				}
				return
			}
			if i := controlAt(out); i >= 0 {
				t.Errorf("raw control character at byte %d: %q", i, out[max(0, i-40):min(len(out), i+20)])
			}
			if !strings.Contains(out, `\x1b[2J`) {
				t.Errorf("the escaped form of what the server sent is not shown")
			}
		})
	}
	t.Run("details", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteDetails(&buf, r); err != nil {
			t.Fatal(err)
		}
		if i := controlAt(buf.String()); i >= 0 {
			t.Errorf("raw control character at byte %d: %q", i, buf.String()[max(0, i-40):min(buf.Len(), i+20)])
		}
	})
	t.Run("progress", func(t *testing.T) {
		var buf bytes.Buffer
		p := NewProgress(&buf, len(r.Results), false)
		for _, res := range r.Results {
			p.Result(res)
		}
		if i := controlAt(buf.String()); i >= 0 {
			t.Errorf("raw control character at byte %d: %q", i, buf.String())
		}
		if got := strings.Count(buf.String(), "\n"); got != len(r.Results) {
			t.Errorf("%d lines for %d results: a line break got through", got, len(r.Results))
		}
	})
}

// controlAt is the index of the first character sanitize.Block would
// escape, or -1.
func controlAt(s string) int {
	for i, r := range s {
		if sanitize.HasControl(string(r)) {
			return i
		}
	}
	return -1
}
