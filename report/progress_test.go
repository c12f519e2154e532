package report

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

func TestProgress(t *testing.T) {
	for _, color := range []bool{false, true} {
		var buf bytes.Buffer
		p := NewProgress(&buf, 12, color)
		r := fullFixture()
		for _, res := range r.Results {
			p.Result(res)
		}
		p.Done()
		lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
		if len(lines) != len(r.Results) {
			t.Fatalf("%d lines for %d results:\n%s", len(lines), len(r.Results), buf.String())
		}
		want := []string{
			"[ 1/12] PASS  stun.udp  stun:127.0.0.1:3478  rtt median 0.210 ms, rtt p95 0.340 ms, loss 0%  (12.3ms)",
			"[ 2/12] WARN  stun.tcp  stun:127.0.0.1:3478  rtt median 120 ms, rtt p95 182 ms, loss 0%  rtt_p95_ms is 182, want < 150 (warn)  (310ms)",
			"[ 3/12] FAIL  turn.udp  turn:turn.example.com:3478?transport=udp  401 Unauthorized <realm \"example.com\"> & more  (2s)",
		}
		for i, w := range want {
			got := lines[i]
			if color {
				got = strings.NewReplacer("\x1b[32m", "", "\x1b[33m", "", "\x1b[31m", "", "\x1b[0m", "").Replace(got)
			}
			if got != w {
				t.Errorf("line %d:\n got %q\nwant %q", i+1, got, w)
			}
		}
		if hasColor := strings.Contains(buf.String(), "\x1b["); hasColor != color {
			t.Errorf("color=%v but escape codes=%v", color, hasColor)
		}
	}
}

// Results arrive from the runner's goroutines; counting stays exact.
func TestProgressConcurrent(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 50, false)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Result(result.Result{CheckID: "stun.udp", Target: "t", Status: result.Pass, Duration: time.Millisecond})
		}()
	}
	wg.Wait()
	if !strings.Contains(buf.String(), "[50/50]") || strings.Count(buf.String(), "\n") != 50 {
		t.Errorf("progress:\n%s", buf.String())
	}
}
