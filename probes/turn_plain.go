package probes

import (
	"context"
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/pion/stun/v4"
)

// tlsHandshakeUnanswered: a TLS handshake heard nothing (or was hung up
// on) before the time
// kept for the follow-up (handshakeContext), and that time is still there.
// A port that does not speak TLS may say nothing at all to a ClientHello:
// coturn with no-tls waits for a STUN message.
func tlsHandshakeUnanswered(ctx context.Context, t Target, err error) bool {
	var (
		te  *TimeoutError
		tle *TLSError
	)
	if ctx.Err() != nil || t.Transport != TLS {
		return false
	}
	// A plain port may also hang up on the ClientHello, as coturn with
	// no-tls does now and then: a reset or an end of stream, no alert.
	hungUp := errors.As(err, &tle) && (errors.Is(tle.Err, io.EOF) || errors.Is(tle.Err, syscall.ECONNRESET))
	return errors.As(err, &te) && te.Stage == StageTLS || hungUp
}

// tlsFollowUp asks the port a TLS handshake got no answer from one STUN
// Binding request in the clear over TCP, and records what came back. A
// STUN answer there shows a port that serves STUN/TURN without TLS, not a
// silent path.
func tlsFollowUp(ctx context.Context, t Target) {
	plain := t
	plain.TLS, plain.Transport = nil, TCP
	start := time.Now()
	o := Observation{Step: "follow-up: STUN Binding request in the clear to the TLS port", Transport: string(TCP), To: t.Addr(), Outcome: OutcomeSilence}
	defer func() {
		o.AfterMS = ms(time.Since(start))
		Observe(ctx, o)
	}()
	conn, err := dial(ctx, plain)
	if err != nil {
		if fo, ok := ObservationOf(err); ok {
			o.Outcome, o.ICMP, o.Note = fo.Outcome, fo.ICMP, fo.Note
		}
		return
	}
	defer conn.Close()
	_, err = newTURNClient(conn, plain, start).roundTrip(ctx, stun.MethodBinding, nil)
	var se *STUNError
	switch {
	case err == nil:
		o.Outcome = OutcomeAnswered
	case errors.As(err, &se):
		// A refusal (secure-stun's 401) is STUN all the same.
		o.Outcome, o.Code, o.Reason = OutcomeErrorResponse, se.Code, se.Reason
	default:
		if fo, ok := ObservationOf(err); ok {
			o.Outcome, o.Bytes, o.Note = fo.Outcome, fo.Bytes, fo.Note
		}
	}
}
