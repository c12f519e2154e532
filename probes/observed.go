package probes

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// How each typed error reads as an observation: the step that ended the
// probe and what came back for it.

func (e *TimeoutError) Observation() Observation {
	step := string(e.Stage)
	if e.Stage == StageFirstAnswer {
		step = "first request"
	}
	return Observation{Step: step, Transport: string(e.Transport), To: e.Addr, Outcome: OutcomeSilence, AfterMS: ms(e.After)}
}

func (e *RefusedError) Observation() Observation {
	o := Observation{Step: "first request", Transport: string(e.Transport), To: e.Addr}
	switch {
	case e.RateLimited:
		o.Outcome = OutcomeSilence
		o.Note = "an earlier probe of the same address got ICMP port unreachable moments ago (hosts rate-limit ICMP errors)"
	case e.Transport.Network() == "udp":
		o.Outcome = OutcomeICMP
		o.ICMP = e.ICMP
		if o.ICMP == nil {
			o.ICMP = &ICMPReport{Type: 3, Code: 3, Meaning: "port unreachable"}
		}
	default:
		o.Step, o.Outcome = "TCP connect", OutcomeReset
	}
	return o
}

func (e *UnreachableError) Observation() Observation {
	o := Observation{Step: "first request", Transport: string(e.Transport), To: e.Addr, Outcome: OutcomeICMP, ICMP: e.ICMP}
	if e.Transport.Network() == "tcp" {
		o.Step = "TCP connect"
	}
	if o.ICMP == nil {
		o.Note = errnoText(e.Err)
	}
	return o
}

func (e *LocalRefusalError) Observation() Observation {
	return Observation{Step: "send", Outcome: OutcomeLocalRefusal, Note: errnoText(e.Err)}
}

func (e *DNSError) Observation() Observation {
	return Observation{Step: "DNS lookup", To: e.Host, Outcome: OutcomeDNSFailure, Note: fromNetwork(e.Err.Error())}
}

func (e *TLSError) Observation() Observation {
	o := Observation{Step: "TLS handshake", To: e.Addr, Outcome: OutcomeTLSAlert, Note: fromNetwork(e.Err.Error())}
	var alert tls.AlertError
	if errors.As(e.Err, &alert) {
		o.Code, o.Reason = int(alert), alert.Error()
	}
	return o
}

func (e *STUNError) Observation() Observation {
	o := Observation{Step: e.Request + " request", Outcome: OutcomeErrorResponse, Code: e.Code, Reason: e.Reason}
	if e.Realm != "" {
		o.Headers = map[string]string{"REALM": e.Realm}
	}
	if e.Authenticated {
		o.Note = "long-term credentials sent"
		if e.REST {
			o.Note += ", minted from a TURN REST secret"
		}
	}
	return o
}

func (e *ProtocolError) Observation() Observation {
	return Observation{Step: "request", To: e.Addr, Outcome: OutcomeNotProtocol, Bytes: e.Bytes, Note: fromNetwork(e.Err.Error())}
}

func (e *ClosedError) Observation() Observation {
	o := Observation{Step: e.Request + " request", Transport: string(e.Transport), To: e.Addr, Outcome: OutcomeClosed}
	if errors.Is(e.Err, syscall.ECONNRESET) {
		o.Outcome = OutcomeReset
	}
	return o
}

func (e *NoSTUNError) Observation() Observation {
	o := Observation{Step: "Binding request", Transport: string(e.Transport), To: e.Addr, Outcome: OutcomeSilence, AfterMS: ms(e.After)}
	switch {
	case e.AnswersTURN:
		o.Note = "an Allocate request on the same connection was answered"
	case e.Partial > 0:
		o.Note = "the TCP connection was accepted; received " + partialNote(e.Partial, e.Announced)
	case e.Transport.Network() == "tcp":
		o.Note = "the TCP connection was accepted"
	}
	return o
}

func (e *StrayAnswerError) Observation() Observation {
	return Observation{Step: "Binding request", Transport: string(e.Transport), To: e.Addr, Outcome: OutcomeNotProtocol,
		Note: fmt.Sprintf("%d answer(s) with a transaction ID that matches no request", e.Count)}
}

func (e *HTTPStatusError) Observation() Observation {
	o := Observation{Step: "HTTP Upgrade", Transport: "tcp", To: e.Addr, Outcome: OutcomeErrorResponse, AfterMS: ms(e.After), Code: e.Code, Reason: e.Status, Headers: e.Headers}
	o.Bytes, o.Note = e.Body, offeredNote(e.Offered)
	return o
}

func (e *UpgradeClosedError) Observation() Observation {
	o := Observation{Step: "HTTP Upgrade", Transport: "tcp", To: e.Addr, Outcome: OutcomeClosed, AfterMS: ms(e.After), Note: offeredNote(e.Offered)}
	if e.Reset {
		o.Outcome = OutcomeReset
	}
	return o
}

func (e *SubprotocolError) Observation() Observation {
	o := Observation{Step: "HTTP Upgrade", Transport: "tcp", Outcome: OutcomeNotProtocol, Code: 101, Note: e.Error()}
	if e.Chosen != "" {
		o.Headers = map[string]string{"Sec-Websocket-Protocol": e.Chosen}
	}
	return o
}

func (e *FramingError) Observation() Observation {
	return Observation{Step: "first frame", Transport: "tcp", Outcome: OutcomeNotProtocol, Bytes: e.Bytes, Note: e.Why}
}

// offeredNote says which subprotocols the request offered.
func offeredNote(offered []string) string {
	if len(offered) == 0 {
		return "the request offered no subprotocol"
	}
	return "the request offered subprotocols " + strings.Join(offered, ", ")
}

func (e *TLSPortError) Observation() Observation {
	return Observation{Step: "HTTP Upgrade", To: e.Addr, Outcome: OutcomeNotProtocol, Note: "the port completes a TLS handshake"}
}

func (e *HTTPSessionError) Observation() Observation {
	if o, ok := ObservationOf(e.Err); ok && e.Code == 0 {
		o.Step = e.Proto + " " + string(e.Stage)
		return o
	}
	o := Observation{Step: e.Proto + " " + string(e.Stage), To: e.URL, Outcome: OutcomeErrorResponse, Code: e.Code, Reason: e.Status}
	switch {
	case e.Code != 0:
	case errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF):
		// The server took the request and closed the connection without
		// a status line.
		o.Outcome, o.Note = OutcomeClosed, "the connection closed without an HTTP response"
	case errors.Is(e.Err, syscall.ECONNRESET):
		o.Outcome, o.Note = OutcomeReset, "the connection was reset without an HTTP response"
	default:
		o.Outcome, o.Note = OutcomeSilence, fromNetwork(fmt.Sprint(e.Err))
	}
	return o
}

func (e *ProxyError) Observation() Observation {
	if e.Status != "" {
		return Observation{Step: "proxy CONNECT", To: e.Proxy, Outcome: OutcomeErrorResponse, Reason: e.Status}
	}
	if o, ok := ObservationOf(e.Err); ok {
		o.Step = "proxy CONNECT"
		return o
	}
	return Observation{Step: "proxy CONNECT", To: e.Proxy, Outcome: OutcomeSilence, Note: fromNetwork(fmt.Sprint(e.Err))}
}

func (e *ConnectError) Observation() Observation {
	if o, ok := ObservationOf(e.Err); ok {
		return o
	}
	return Observation{Step: string(e.Stage), Outcome: OutcomeSilence, AfterMS: ms(e.After), Note: fromNetwork(fmt.Sprint(e.Err))}
}

// errnoText is the errno behind err in words, when there is one.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if err == nil {
		return ""
	}
	return fromNetwork(err.Error())
}
