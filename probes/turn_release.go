package probes

import (
	"context"
	"errors"
	"sync/atomic"
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
	if err == nil {
		c.released = true
	}
	return err
}

// A released allocation is not gone from the server at once: coturn
// answers a Refresh with LIFETIME 0 by giving it one more second, on a
// timer of one-second ticks. Over UDP or DTLS the allocation is the
// 5-tuple's, so a socket of rtcprobe's that the kernel gave the same
// source port in that time would have its Allocate refused with 437
// (Allocation Mismatch, "wrong transaction ID"), and a retry from a fresh
// port can meet another such port: under probe load, a probe in a few
// hundred failed so. So the socket of a released UDP allocation stays
// open for releaseHold (DTLS: not yet, its connection runs goroutines),
// keeping its port from the kernel until the server has let the
// allocation go; at most maxHeld at once (a quarter
// of the usual 20,000-file hard limit Go raises the soft one to; beyond
// that a socket closes at once, and a 437 is retried from a fresh port).
const (
	releaseHold = 3 * time.Second
	maxHeld     = 8192
)

var held atomic.Int64

// Close drops the connection without releasing the allocation; the
// socket of a released UDP allocation is closed releaseHold later.
func (c *turnClient) Close() error {
	if !c.released || c.t.Transport != UDP {
		return c.conn.Close()
	}
	if held.Add(1) > maxHeld {
		held.Add(-1)
		return c.conn.Close()
	}
	time.AfterFunc(releaseHold, func() {
		_ = c.conn.Close()
		held.Add(-1)
	})
	return nil
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
