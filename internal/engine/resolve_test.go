package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/engine"
)

// TestResolveIsWhatARunTakes: `rtcprobe list` and `validate` show
// Resolve's answer, so it must select what Prepare's plan runs, refuse
// what Prepare refuses, and start nothing.
func TestResolveIsWhatARunTakes(t *testing.T) {
	ids := func(cs []*checks.Check) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, in := range []engine.Input{
		{Selection: selection(t, "stun,turn.udp")},
		{Profile: "firewall"},
		{},
	} {
		rs, err := engine.Resolve(in)
		if err != nil {
			t.Fatal(err)
		}
		r, err := engine.Prepare(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(rs.Checks), ids(r.Plan.Checks); !slices.Equal(got, want) {
			t.Errorf("%+v: Resolve selects %v, the run %v", in, got, want)
		}
		if rs.Settings.FailOn != r.Plan.Settings.FailOn {
			t.Errorf("fail_on %s, the run's %s", rs.Settings.FailOn, r.Plan.Settings.FailOn)
		}
		r.Close()
	}
	var se *engine.SelectionError
	if _, err := engine.Resolve(engine.Input{Profile: "firewall", Selection: selection(t, "browser")}); !errors.As(err, &se) {
		t.Errorf("a selection outside the profile: %v, want a SelectionError", err)
	}
}
