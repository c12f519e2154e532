package report

import (
	"fmt"
	"math"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// timeline is the HTML report's strip of when each check worked: a bar
// per result from its start to its end on the run's clock, so the run's
// critical path (what the last check waited for) can be seen.
type timeline struct {
	Width, Height, Left, Right int
	Bars                       []timelineBar
	Ticks                      []tick
}

type timelineBar struct {
	X, Y, W float64
	Status  result.Status
	Label   string
	Title   string
}

const (
	timelineRow   = 14
	timelineLeft  = 230
	timelineWidth = 900
)

// newTimeline draws the results that carry their times; nil when none
// does (a pre-call report, judged from a browser's measurements).
func newTimeline(results []result.Result) *timeline {
	var end time.Duration
	n := 0
	for _, r := range results {
		if r.Ended > 0 {
			end, n = max(end, r.Ended), n+1
		}
	}
	if n == 0 {
		return nil
	}
	t := &timeline{Width: timelineWidth, Left: timelineLeft, Right: timelineWidth - 10, Height: n*timelineRow + 24}
	scale := float64(t.Right-t.Left) / float64(end)
	y := 4
	for _, r := range results {
		if r.Ended <= 0 {
			continue
		}
		label := r.CheckID
		if r.Target != "" {
			label += " · " + r.Target
		}
		if len([]rune(label)) > 42 {
			label = string([]rune(label)[:41]) + "…"
		}
		t.Bars = append(t.Bars, timelineBar{
			X: tenth(float64(t.Left) + float64(r.Started)*scale), Y: float64(y), W: tenth(max(1, float64(r.Ended-r.Started)*scale)),
			Status: r.Status, Label: label,
			Title: fmt.Sprintf("%s %s: %s → %s", r.CheckID, r.Target, durationText(r.Started), durationText(r.Ended)),
		})
		y += timelineRow
	}
	step := tickStep(end)
	for at := time.Duration(0); at <= end; at += step {
		t.Ticks = append(t.Ticks, tick{Pos: tenth(float64(t.Left) + float64(at)*scale), Label: durationText(at)})
	}
	return t
}

func tenth(x float64) float64 { return math.Round(x*10) / 10 }

// tickStep is a round step giving at most about ten ticks over d.
func tickStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
		2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute} {
		if d/s <= 10 {
			return s
		}
	}
	return d / 10
}
