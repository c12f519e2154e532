package engine

import (
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Use is the run's plan for one use of it (an execution, a pre-call
// page's session) starting at start and lasting up to lasts, with TURN
// REST credentials minted for that use alone. A prepared run lives long
// (rtcprobe serve keeps the page's for hours, a soak runs for days), so
// credentials minted once would expire under a later use. tag, when
// set, is added to each minted username's user part: uses started in
// the same second then get different credentials (the username is
// "expiry:user"), and the TURN server's log tells them apart.
func (r *Run) Use(start time.Time, lasts time.Duration, tag string) *checks.Plan {
	plan := *r.Plan
	plan.Servers = make([]probes.Server, len(r.Plan.Servers))
	for i, s := range r.Plan.Servers {
		plan.Servers[i] = Minted(s, start, lasts, tag)
	}
	return &plan
}

// Minted is s with credentials minted from its REST secret at start,
// valid at least until start+lasts: TURN allocations made with them are
// refreshed with them for as long as the use goes on, so a lifetime
// shorter than the use would fail it halfway. A server without a secret
// is returned as it is.
func Minted(s probes.Server, start time.Time, lasts time.Duration, tag string) probes.Server {
	if s.REST == nil {
		return s
	}
	rest := *s.REST
	rest.TTL = max(rest.TTL, lasts)
	if tag != "" {
		if rest.User != "" {
			rest.User += "-"
		}
		rest.User += tag
	}
	s.REST = &rest
	return s.Minted(start)
}

// now is the run's clock.
func (r *Run) now() time.Time {
	if r.in.Now != nil {
		return r.in.Now()
	}
	return time.Now()
}
