package engine_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestUseMintsPerUse: each use of a prepared run gets credentials minted
// at its start that last at least as long as it (a shorter TTL is
// stretched to cover it; a longer one is kept), tagged when asked, and
// the prepared plan keeps none.
func TestUseMintsPerUse(t *testing.T) {
	s, err := probes.ParseServer("turn:127.0.0.1:3478")
	if err != nil {
		t.Fatal(err)
	}
	s.REST = &probes.RESTSecret{Secret: "s", User: "ci", TTL: time.Second}
	r, err := engine.Prepare(engine.Input{Servers: []probes.Server{s}, Selection: selection(t, "turn.udp"), External: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Unix(1_800_000_000, 0)
	expiry := func(u string) int64 {
		n, _ := strconv.ParseInt(strings.SplitN(u, ":", 2)[0], 10, 64)
		return n
	}
	for _, tc := range []struct {
		at    time.Time
		lasts time.Duration
		tag   string
		want  time.Time
		user  string
	}{
		{start, 10 * time.Minute, "", start.Add(10 * time.Minute), "ci"},
		{start.Add(time.Hour), 5 * time.Minute, "TAG", start.Add(time.Hour + 5*time.Minute), "ci-TAG"},
		{start, 0, "", start.Add(time.Second), "ci"},
	} {
		p := r.Use(tc.at, tc.lasts, tc.tag).Servers[0]
		if expiry(p.Username) != tc.want.Unix() || !strings.HasSuffix(p.Username, ":"+tc.user) {
			t.Errorf("use at %s lasting %s: username %q, want expiry %d and user %s", tc.at, tc.lasts, p.Username, tc.want.Unix(), tc.user)
		}
		if want, _ := probes.RESTCredentials("s", tc.user, tc.want.Sub(tc.at), tc.at); p.Username != want {
			t.Errorf("username %q, want %q", p.Username, want)
		}
	}
	if p := r.Plan.Servers[0]; p.Username != "" || p.REST.TTL != time.Second || p.REST.User != "ci" {
		t.Errorf("the prepared plan changed: %q %+v", p.Username, *p.REST)
	}
}
