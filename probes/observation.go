package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Observation is one exchange a probe had with the network: what it sent,
// to where, and what came back. Checks derive causes from these, not from
// error text: an observation is what happened, a cause is what it means.
type Observation struct {
	// Step is what was sent: "Binding request", "Allocate request",
	// "TCP connect", "TLS handshake", "HTTP Upgrade", "DTLS handshake".
	Step      string `json:"step"`
	Transport string `json:"transport"`
	// To is the address (or the redacted URL) it was sent to.
	To      string  `json:"to"`
	Outcome Outcome `json:"outcome"`
	// AfterMS is how long after the step began the outcome came (for
	// silence: how long it was waited for).
	AfterMS float64 `json:"after_ms"`
	// ICMP is the ICMP error the host or a router sent back.
	ICMP *ICMPReport `json:"icmp,omitempty"`
	// Code is the answer's code: a STUN error code, an HTTP status, a
	// WebSocket close code or a TLS alert.
	Code int `json:"code,omitempty"`
	// Reason is the answer's own words (a STUN reason phrase, an HTTP
	// reason, a close reason), sanitized.
	Reason string `json:"reason,omitempty"`
	// Headers are the answer's headers (HTTP: WWW-Authenticate,
	// X-WebSocket-Reject-Reason, …) or attributes (STUN: REALM) that
	// explain it, sanitized.
	Headers map[string]string `json:"headers,omitempty"`
	// Bytes are the first bytes of an answer that is not the protocol's,
	// sanitized for display.
	Bytes string `json:"bytes,omitempty"`
	// Note is what else the probe knows about this step, in words.
	Note string `json:"note,omitempty"`
}

// Outcome is what came back for a step.
type Outcome string

// The outcomes a step can have.
const (
	// OutcomeAnswered: a valid answer of the protocol asked (success).
	OutcomeAnswered Outcome = "answered"
	// OutcomeErrorResponse: a valid answer of the protocol that refuses
	// (STUN error response, HTTP 4xx/5xx, WebSocket close).
	OutcomeErrorResponse Outcome = "error_response"
	// OutcomeSilence: nothing came back within AfterMS.
	OutcomeSilence Outcome = "silence"
	// OutcomeICMP: an ICMP error came back (ICMP says which).
	OutcomeICMP Outcome = "icmp"
	// OutcomeReset: a TCP RST to the connection attempt or in the middle.
	OutcomeReset Outcome = "reset"
	// OutcomeClosed: the connection was accepted, then closed (FIN)
	// without an answer.
	OutcomeClosed Outcome = "closed"
	// OutcomeTLSAlert: the TLS or DTLS handshake failed; Code is the
	// alert when the peer sent one.
	OutcomeTLSAlert Outcome = "tls_failure"
	// OutcomeNotProtocol: bytes came back that are not the protocol asked
	// (Bytes shows the first of them).
	OutcomeNotProtocol Outcome = "not_protocol"
	// OutcomeLocalRefusal: this machine refused to send (a local firewall
	// rule: EPERM).
	OutcomeLocalRefusal Outcome = "local_refusal"
	// OutcomeDNSFailure: the name did not resolve.
	OutcomeDNSFailure Outcome = "dns_failure"
)

// Observed is implemented by the probes' typed errors: the observation
// that ended the probe.
type Observed interface{ Observation() Observation }

// maxObservations bounds what one probe run records, whatever a hostile
// server makes it do: the first ones explain, the rest are counted.
const maxObservations = 32

// ObservationLog collects the observations of one probe run, from every
// goroutine the probe starts.
type ObservationLog struct {
	mu      sync.Mutex
	obs     []Observation
	dropped int
}

type logKey struct{}

// Recording returns a context whose probes record their observations into
// the returned log.
func Recording(ctx context.Context) (context.Context, *ObservationLog) {
	l := &ObservationLog{}
	return context.WithValue(ctx, logKey{}, l), l
}

// Observe records o in ctx's log, if it has one.
func Observe(ctx context.Context, o Observation) {
	if l, _ := ctx.Value(logKey{}).(*ObservationLog); l != nil {
		l.add(o)
	}
}

func (l *ObservationLog) add(o Observation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.obs) >= maxObservations {
		l.dropped++
		return
	}
	l.obs = append(l.obs, o)
}

// Take returns what was recorded, with the final error's observation
// last when err carries one; a note counts what did not fit.
func (l *ObservationLog) Take(err error) []Observation {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]Observation(nil), l.obs...)
	if l.dropped > 0 && len(out) > 0 {
		out[len(out)-1].Note = joinNote(out[len(out)-1].Note, fmt.Sprintf("%d more step(s) not recorded", l.dropped))
	}
	if o, ok := ObservationOf(err); ok {
		out = append(out, o)
	}
	return out
}

// ObservationOf is the observation an error carries, if any.
func ObservationOf(err error) (Observation, bool) {
	var o Observed
	if err == nil || !errors.As(err, &o) {
		return Observation{}, false
	}
	return o.Observation(), true
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
