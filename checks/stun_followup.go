package checks

import (
	"context"
	"errors"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// silentUDP: a UDP probe heard nothing at all from its target (no answer,
// no ICMP error, no earlier refusal of the same address).
func silentUDP(err error) bool {
	var timeout *probes.TimeoutError
	return errors.As(err, &timeout) && timeout.Stage == probes.StageFirstAnswer && timeout.Transport == probes.UDP
}

// followUpClassic runs after a UDP probe got silence: one Binding request
// with CHANGE-REQUEST, as an RFC 3489 client sends it. Classic servers
// that answer only such requests are told apart from a path that drops
// UDP; the diagnosis table reads the observation it records.
func followUpClassic(ctx context.Context, t probes.Target, m probes.Measurement) {
	if !silentUDP(m.Err) || t.Transport != probes.UDP {
		return
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < minFollowUp {
		return // no time left to hear an answer: recording silence would mislead
	}
	probes.ClassicBinding(ctx, t, probes.ClassicBindingWait)
}

// minFollowUp is the least time worth a follow-up datagram: a loopback
// round trip takes microseconds, a continent's under 100 ms.
const minFollowUp = 100 * time.Millisecond

// leaveRoom returns ctx with its deadline moved room earlier, so a
// follow-up after the probe still fits in the check's deadline. A
// deadline too short to share is left whole to the probe.
func leaveRoom(ctx context.Context, room time.Duration) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || time.Until(d) < 2*room {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-room))
}
