package probes

import (
	"context"
	"errors"
	"time"

	"github.com/pion/stun/v4"
)

// A run leaves the server as it found it: every allocation rtcprobe made
// is released at once (Refresh with LIFETIME 0, RFC 8656 §7) instead of
// counting against the user's quota until it expires (10 min by default),
// so a second run, or the next iteration of --repeat, sees the same
// server.

// releaseGrace is what a release gets when the probe's own deadline has
// already passed: an allocation left behind costs the user a quota unit
// for its whole lifetime, which is worth a second more.
const releaseGrace = time.Second

// release ends the allocation at once instead of leaving it to expire on
// the server.
func (c *turnClient) release(ctx context.Context) error {
	_, err := c.request(ctx, stun.MethodRefresh, stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}})
	return err
}

// releaseQuietly releases c's allocation, even after ctx ended (within
// releaseGrace), and notes it for the quota bookkeeping. A release that
// fails is recorded as an observation; the allocation then expires on its
// own.
func releaseQuietly(ctx context.Context, c *turnClient) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), releaseGrace)
		defer cancel()
	}
	start := time.Now()
	if err := c.release(ctx); err != nil {
		o := releaseObservation(c, "release: Refresh (lifetime 0) request", err, start)
		o.Note = joinNote(o.Note, "the allocation was not released: it counts against the user's quota until it expires")
		Observe(ctx, o)
	}
	noteRelease(c.t)
}

// settle frees what a refused Allocate may leave counted on a datagram
// 5-tuple. A server may charge the user's quota when it authenticates an
// Allocate, before it finds it cannot serve it (coturn 4.6 does for a
// refused address family), and over UDP or DTLS no connection closes to
// give that unit back: coturn keeps it until an idle session times out,
// 60 s later. So after a refusal other than for credentials, the quota or
// the 5-tuple itself, settle asks the same 5-tuple for an allocation of
// the server's default family and releases it at once; ending a granted
// allocation ends the session and its charge. Over TCP and TLS closing
// the connection does that.
func settle(ctx context.Context, c *turnClient, refused error) {
	var se *STUNError
	if c.stream || c.key == nil || !errors.As(refused, &se) {
		return
	}
	switch se.Code {
	case 401, 437, 438, 441, 486:
		return // not authenticated, another allocation's 5-tuple, or no charge taken
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), releaseGrace)
		defer cancel()
	}
	start := time.Now()
	if _, err := c.allocate(ctx, 0); err != nil {
		o := releaseObservation(c, "release: Allocate request (server's default family) on the refused 5-tuple", err, start)
		o.Note = joinNote(o.Note, "the refused request may stay counted against the user's quota until the server times the session out")
		Observe(ctx, o)
		return
	}
	releaseQuietly(ctx, c)
}

// releaseObservation records a release step that did not succeed.
func releaseObservation(c *turnClient, step string, err error, start time.Time) Observation {
	o := Observation{Step: step, Transport: string(c.t.Transport), To: c.t.Addr(), Outcome: OutcomeSilence, AfterMS: ms(time.Since(start))}
	if fo, ok := ObservationOf(err); ok {
		o.Outcome, o.Code, o.Reason, o.Bytes = fo.Outcome, fo.Code, fo.Reason, fo.Bytes
	}
	return o
}
