package main

import (
	"encoding/json"
	"testing"
)

// TestReportTimeline: each check of a run carries when it began its work
// and when it ended, on the run's clock: 0 ≤ started_ms ≤ ended_ms ≤ the
// run's duration_ms, and ended − started is the check's duration. Two
// TURN checks of one credential start side by side, each lending the
// user's allocation quota until its first authenticated Allocate, so
// their spans overlap: the later one's span holds its wait for the quota.
func TestReportTimeline(t *testing.T) {
	res := rtcprobe(t, "--checks", "stun.udp,turn.udp,turn.tcp", "--json", "-")
	var rep struct {
		DurationMS float64 `json:"duration_ms"`
		Checks     []struct {
			ID         string   `json:"id"`
			DurationMS float64  `json:"duration_ms"`
			StartedMS  *float64 `json:"started_ms"`
			EndedMS    *float64 `json:"ended_ms"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != exitOK {
		t.Fatalf("exit %d, %v\n%s\n%s", res.code, err, res.stdout, res.stderr)
	}
	spans := map[string][2]float64{}
	for _, c := range rep.Checks {
		if c.StartedMS == nil || c.EndedMS == nil {
			t.Fatalf("%s: no started_ms/ended_ms", c.ID)
		}
		s, e := *c.StartedMS, *c.EndedMS
		if s < 0 || e < s || e > rep.DurationMS || e-s < c.DurationMS-1 {
			t.Errorf("%s: started %.3f ended %.3f duration %.3f, run %.3f", c.ID, s, e, c.DurationMS, rep.DurationMS)
		}
		spans[c.ID] = [2]float64{s, e}
	}
	u, tc := spans["turn.udp"], spans["turn.tcp"]
	if u[0] >= tc[1] || tc[0] >= u[1] {
		t.Errorf("turn.udp %v and turn.tcp %v ran one after another: the first did not lend the quota before its first Allocate", u, tc)
	}
}
