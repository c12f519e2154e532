package probes

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// URIError is a malformed server URI; the message names the input.
type URIError struct {
	URI string
	Err error
}

func (e *URIError) Error() string { return fmt.Sprintf("invalid URI %q: %v", e.URI, e.Err) }
func (e *URIError) Unwrap() error { return e.Err }

// Stage names the step of an exchange that failed. The zero value is the
// first exchange: waiting for any answer at all.
type Stage string

// Stages of the probes' exchanges.
const (
	StageFirstAnswer Stage = ""
	StageDNS         Stage = "DNS lookup"
	StageTLS         Stage = "TLS handshake"
	StageProxy       Stage = "proxy CONNECT"
	StageUpgrade     Stage = "HTTP Upgrade"
	StageRelayTest   Stage = "relay test"
	// The stages of a WebRTC connection (ConnectError).
	StageGathering   Stage = "gathering"
	StageICE         Stage = "ICE"
	StageDTLS        Stage = "DTLS"
	StageMedia       Stage = "media"
	StageDataChannel Stage = "data channel"
)

// requestStage is the stage of a STUN/TURN request after the server has
// answered earlier ones: "Allocate request".
func requestStage(method string) Stage { return Stage(method + " request") }

// TimeoutError means nothing answered before the deadline: on a path with
// a firewall this is a silent drop.
type TimeoutError struct {
	Addr      string
	Transport Transport
	After     time.Duration
	// Stage names what was waited for when it is not the first answer.
	Stage Stage
}

func (e *TimeoutError) Error() string {
	if e.Stage != StageFirstAnswer {
		return fmt.Sprintf("%s with %s over %s timed out after %s", e.Stage, e.Addr, e.Transport.Upper(), roundDur(e.After))
	}
	return fmt.Sprintf("no response from %s over %s in %s", e.Addr, e.Transport.Upper(), roundDur(e.After))
}

// RefusedError means the host answered that nothing listens there: a TCP
// RST or an ICMP port unreachable.
type RefusedError struct {
	Addr      string
	Transport Transport
	// RateLimited: this probe heard nothing, but the host refused another
	// probe of the same address moments ago; its ICMP answer to this one
	// was rate-limited.
	RateLimited bool
	// ICMP is the port-unreachable error as received, when the socket's
	// error queue gave it (UDP).
	ICMP *ICMPReport
}

func (e *RefusedError) Error() string {
	how := "TCP connection refused (RST)"
	switch {
	case e.RateLimited:
		how = "ICMP port unreachable to an earlier probe (this probe's was rate-limited)"
	case e.Transport.Network() == "udp" && e.ICMP != nil && e.ICMP.From != "" && e.ICMP.From != hostOf(e.Addr):
		how = "ICMP port unreachable from " + e.ICMP.From
	case e.Transport.Network() == "udp":
		how = "ICMP port unreachable"
	}
	return fmt.Sprintf("%s refused %s: %s", e.Addr, e.Transport.Upper(), how)
}

// DNSError means the server name did not resolve.
type DNSError struct {
	Host string
	Err  error
}

func (e *DNSError) Error() string { return fmt.Sprintf("cannot resolve %q: %v", e.Host, e.Err) }
func (e *DNSError) Unwrap() error { return e.Err }

// TLSError is a failed TLS or DTLS handshake, typically a certificate problem.
type TLSError struct {
	Addr string
	Err  error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("TLS handshake with %s failed: %v", e.Addr, e.Err)
}
func (e *TLSError) Unwrap() error { return e.Err }

// STUNError is an error response from the server, carrying its code.
type STUNError struct {
	Code   int
	Reason string
	// Realm is the REALM the server asked for (401), when it sent one.
	Realm string
	// Request names what was refused: "Binding", "Allocate", ...
	Request string
	// Authenticated is true when the refused request carried the
	// long-term credentials the server asked for (after its 401
	// challenge): then a 400 or 401 means those credentials were refused.
	Authenticated bool
	// REST is true when those credentials were minted from a TURN REST
	// secret (the username is "expiry:user").
	REST bool
	// nonce is the NONCE a 401 or 438 carried, to answer the challenge.
	nonce string
	// rawRealm is the REALM as sent, for the long-term key; Realm is it
	// sanitized for display.
	rawRealm string
}

func (e *STUNError) Error() string {
	return fmt.Sprintf("%s request rejected: %d %s", e.Request, e.Code, e.Reason)
}

// ProtocolError is an answer that is not what the protocol allows: a
// malformed message, or a response missing a required attribute.
type ProtocolError struct {
	Addr string
	Err  error
	// Bytes are the first bytes of the answer, sanitized for display, when
	// it was not the protocol's at all.
	Bytes string
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("bad answer from %s: %v", e.Addr, e.Err) }
func (e *ProtocolError) Unwrap() error { return e.Err }

// ErrUnsupported marks a target the probe cannot run against (for example
// a transport it does not implement); checks report it as skip.
var ErrUnsupported = errors.New("unsupported")

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d
}

// ClosedError means the server closed a TCP or TLS connection in the middle
// of an exchange (FIN or RST) instead of answering.
type ClosedError struct {
	Addr      string
	Transport Transport
	// Request is the request in flight: "Allocate", "ChannelBind", ...
	Request string
	Err     error
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("%s closed the %s connection during %s: %v", e.Addr, e.Transport.Upper(), e.Request, e.Err)
}
func (e *ClosedError) Unwrap() error { return e.Err }

// NoSTUNError means the server was reached but answered no Binding
// request: a TCP connection was accepted, or the server answers TURN
// requests on the same port (STUN turned off, coturn's no-stun).
type NoSTUNError struct {
	Addr      string
	Transport Transport
	After     time.Duration
	// AnswersTURN is true when an Allocate on the same connection was
	// answered.
	AnswersTURN bool
	// Partial bytes of an answer had arrived on a stream when the time
	// ran out, of the Announced size (0 when its header was incomplete).
	Partial, Announced int
}

func (e *NoSTUNError) Error() string {
	switch {
	case e.AnswersTURN:
		return fmt.Sprintf("%s answers TURN over %s but no STUN Binding request in %s", e.Addr, e.Transport.Upper(), roundDur(e.After))
	case e.Partial > 0:
		return fmt.Sprintf("%s accepted the %s connection and sent %s but answered no STUN Binding request in %s", e.Addr, e.Transport.Upper(), partialNote(e.Partial, e.Announced), roundDur(e.After))
	}
	return fmt.Sprintf("%s accepted the %s connection but answered no STUN Binding request in %s", e.Addr, e.Transport.Upper(), roundDur(e.After))
}

// StrayAnswerError means the server answered, but never with the
// transaction ID of a request: a server bug (RFC 8489 §6.3.1 requires the
// request's ID in the response).
type StrayAnswerError struct {
	Addr      string
	Transport Transport
	Count     int
}

func (e *StrayAnswerError) Error() string {
	return fmt.Sprintf("%s answered over %s %d time(s), but with a transaction ID that matches no request", e.Addr, e.Transport.Upper(), e.Count)
}

// UnreachableError means an ICMP error other than port unreachable came
// back: a router or the host says the destination cannot be reached, or a
// filter says it is prohibited.
type UnreachableError struct {
	Addr      string
	Transport Transport
	// ICMP is the error as received; nil when only the errno is known
	// (TCP connects report EHOSTUNREACH or ENETUNREACH alone).
	ICMP *ICMPReport
	Err  error
}

func (e *UnreachableError) Error() string {
	if e.ICMP == nil {
		return fmt.Sprintf("%s over %s: %v", e.Addr, e.Transport.Upper(), e.Err)
	}
	from := ""
	if e.ICMP.From != "" {
		from = " from " + e.ICMP.From
	}
	return fmt.Sprintf("%s over %s: ICMP %s%s", e.Addr, e.Transport.Upper(), e.ICMP.Meaning, from)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
