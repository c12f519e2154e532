package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/stun/v4"
)

// StepClassicBinding is the step of the follow-up ClassicBinding sends.
const StepClassicBinding = "follow-up: Binding request with CHANGE-REQUEST (RFC 3489)"

// ClassicBindingWait bounds the follow-up's wait for its one answer.
const ClassicBindingWait = 500 * time.Millisecond

// ClassicBinding sends one Binding request as an RFC 3489 client does,
// with a CHANGE-REQUEST asking for no change and no FINGERPRINT, to a UDP
// target whose RFC 8489 Binding requests went unanswered, and records what
// came back. Some classic servers ignore a request without CHANGE-REQUEST
// (RFC 3489 §9.3 makes it optional; jstun requires it): an answer here
// tells such a server apart from a path that drops UDP. One datagram,
// waited for up to wait (at most ClassicBindingWait) within ctx.
func ClassicBinding(ctx context.Context, t Target, wait time.Duration) Observation {
	if wait <= 0 || wait > ClassicBindingWait {
		wait = ClassicBindingWait
	}
	o := Observation{Step: StepClassicBinding, Transport: string(t.Transport), To: t.Addr()}
	if t.Transport != UDP {
		return o // RFC 3489 is UDP only; nothing sent, nothing recorded
	}
	start := time.Now()
	defer func() { Observe(ctx, o) }()
	conn, err := dial(ctx, t)
	if err != nil {
		o = followUpFailure(o, err, start)
		return o
	}
	defer conn.Close()
	deadline := start.Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	req, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, 0}})
	if err != nil {
		o.Outcome, o.Note = OutcomeSilence, "not sent: "+err.Error()
		return o
	}
	if _, err := conn.Write(req.Raw); err != nil {
		o = followUpFailure(o, classify(err, t, start, StageFirstAnswer), start)
		return o
	}
	buf := make([]byte, 1500)
	for skipped := 0; skipped <= maxStrayFrames; skipped++ {
		n, err := conn.Read(buf)
		if err != nil {
			o = followUpFailure(o, classify(err, t, start, StageFirstAnswer), start)
			return o
		}
		msg := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if msg.Decode() != nil || msg.TransactionID != req.TransactionID {
			continue
		}
		o.AfterMS = ms(time.Since(start))
		switch {
		case msg.Type.Method != stun.MethodBinding:
			o.Outcome, o.Bytes = OutcomeNotProtocol, firstBytes(buf[:n])
			o.Note = fmt.Sprintf("answered with %s", msg.Type)
		case msg.Type.Class == stun.ClassErrorResponse:
			se := stunError(msg, "Binding")
			o.Outcome, o.Code, o.Reason = OutcomeErrorResponse, se.Code, se.Reason
		case msg.Type.Class == stun.ClassSuccessResponse:
			o.Outcome, o.Note = OutcomeAnswered, classicAnswerNote(msg)
		default:
			o.Outcome, o.Note = OutcomeNotProtocol, fmt.Sprintf("answered with %s", msg.Type)
		}
		return o
	}
	o.Outcome, o.AfterMS, o.Note = OutcomeNotProtocol, ms(time.Since(start)), "only answers to other requests came back"
	return o
}

// classicAnswerNote says which address attributes the answer carried:
// MAPPED-ADDRESS alone is the RFC 3489 form, XOR-MAPPED-ADDRESS RFC 5389's.
func classicAnswerNote(msg *stun.Message) string {
	var xor stun.XORMappedAddress
	if xor.GetFrom(msg) == nil {
		return "answered with XOR-MAPPED-ADDRESS " + xor.String()
	}
	var plain stun.MappedAddress
	if plain.GetFrom(msg) == nil {
		note := "answered with MAPPED-ADDRESS " + plain.String() + " and no XOR-MAPPED-ADDRESS (the RFC 3489 form)"
		if msg.Contains(stun.AttrChangedAddress) {
			note += ", with CHANGED-ADDRESS"
		}
		return note
	}
	return "answered without a mapped address"
}

// followUpFailure fills o from an error that ended the follow-up: the
// error's own observation (ICMP, refusal) keeps this step's name.
func followUpFailure(o Observation, err error, start time.Time) Observation {
	var timeout *TimeoutError
	if errors.As(err, &timeout) {
		o.Outcome, o.AfterMS = OutcomeSilence, ms(time.Since(start))
		return o
	}
	if got, ok := ObservationOf(err); ok {
		got.Step, got.AfterMS = o.Step, ms(time.Since(start))
		return got
	}
	o.Outcome, o.AfterMS, o.Note = OutcomeSilence, ms(time.Since(start)), fromNetwork(err.Error())
	return o
}
