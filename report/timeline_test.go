package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// TestTimelineLabels: a label is cut at 42 characters, not bytes: a
// check and target of 42 characters (the "·" between them is two bytes)
// stays whole, a longer one ends in "…", and a short label of multi-byte
// characters is not cut at all.
func TestTimelineLabels(t *testing.T) {
	at := func(id, target string) result.Result {
		return result.Result{CheckID: id, Target: target, Status: result.Pass, Started: time.Millisecond, Ended: time.Second}
	}
	whole := strings.Repeat("x", 42-len([]rune("stun.udp · ")))
	tl := newTimeline([]result.Result{at("stun.udp", whole), at("stun.udp", whole+"yz"), at("stun.udp", "stün.例え.jp")})
	if got := tl.Bars[0].Label; got != "stun.udp · "+whole {
		t.Errorf("a 42-character label became %q", got)
	}
	if got := tl.Bars[1].Label; len([]rune(got)) != 42 || !strings.HasSuffix(got, "…") {
		t.Errorf("a 44-character label became %q (%d characters), want 41 and an ellipsis", got, len([]rune(got)))
	}
	if got := tl.Bars[2].Label; got != "stun.udp · stün.例え.jp" {
		t.Errorf("a short multi-byte label became %q", got)
	}
}

// TestTickStep: the step gives at most about ten ticks, the boundaries
// included (10 s of run: a tick a second).
func TestTickStep(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		time.Second:             100 * time.Millisecond,
		1100 * time.Millisecond: 250 * time.Millisecond,
		10 * time.Second:        time.Second,
		11 * time.Second:        2 * time.Second,
		50 * time.Second:        5 * time.Second,
	} {
		if got := tickStep(d); got != want {
			t.Errorf("tickStep(%s) = %s, want %s", d, got, want)
		}
	}
}
