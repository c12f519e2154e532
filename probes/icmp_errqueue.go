package probes

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// ICMPReport is an ICMP error as the socket's error queue gave it: which
// error, and which host or router sent it. A REJECT rule, a host with no
// listener and a router with no route all answer differently; the
// errno alone (ECONNREFUSED, EHOSTUNREACH) folds several of them together.
type ICMPReport struct {
	Type int `json:"type"`
	Code int `json:"code"`
	// From is the address of the host or router that sent the error.
	From string `json:"from,omitempty"`
	// IPv6 is true for ICMPv6 (types and codes differ from ICMPv4).
	IPv6 bool `json:"ipv6,omitempty"`
	// Meaning is the type and code in words (RFC 792, RFC 1812 §5.2.7.1,
	// RFC 4443 §3.1).
	Meaning string `json:"meaning"`
}

// ICMPError is a datagram answered by an ICMP error.
type ICMPError struct {
	ICMPReport
	Err error // the errno the socket reported
}

func (e *ICMPError) Error() string {
	if e.From != "" {
		return fmt.Sprintf("ICMP %s from %s", e.Meaning, e.From)
	}
	return "ICMP " + e.Meaning
}
func (e *ICMPError) Unwrap() error { return e.Err }

// PortUnreachable is the ICMP answer of a host with nothing listening on
// the port (or a REJECT rule that imitates one).
func (r ICMPReport) PortUnreachable() bool {
	if r.IPv6 {
		return r.Type == 1 && r.Code == 4
	}
	return r.Type == 3 && r.Code == 3
}

// Prohibited is an ICMP answer that says a filter refused the datagram
// (RFC 1812 §5.2.7.1 codes 9, 10, 13; RFC 4443 code 1, 5, 6).
func (r ICMPReport) Prohibited() bool {
	if r.IPv6 {
		return r.Type == 1 && (r.Code == 1 || r.Code == 5 || r.Code == 6)
	}
	return r.Type == 3 && (r.Code == 9 || r.Code == 10 || r.Code == 13)
}

// icmpMeaning names an ICMP destination-unreachable (or time-exceeded)
// type and code.
func icmpMeaning(v6 bool, typ, code int) string {
	if v6 {
		switch {
		case typ == 1:
			if s, ok := map[int]string{0: "no route to destination", 1: "communication administratively prohibited",
				2: "beyond scope of source address", 3: "address unreachable", 4: "port unreachable",
				5: "source address failed ingress/egress policy", 6: "reject route to destination"}[code]; ok {
				return s
			}
		case typ == 2:
			return "packet too big"
		case typ == 3:
			return "hop limit exceeded in transit"
		}
		return fmt.Sprintf("ICMPv6 type %d code %d", typ, code)
	}
	switch {
	case typ == 3:
		if s, ok := map[int]string{0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable",
			3: "port unreachable", 4: "fragmentation needed", 5: "source route failed", 6: "destination network unknown",
			7: "destination host unknown", 9: "network administratively prohibited", 10: "host administratively prohibited",
			11: "network unreachable for type of service", 12: "host unreachable for type of service",
			13: "communication administratively prohibited", 14: "host precedence violation",
			15: "precedence cutoff in effect"}[code]; ok {
			return s
		}
	case typ == 11:
		return "time exceeded in transit"
	}
	return fmt.Sprintf("ICMP type %d code %d", typ, code)
}

// icmpConn is a connected UDP socket whose read and write errors carry the
// ICMP error behind them (*ICMPError), and whose writes refused by this
// machine's own firewall say so (*LocalRefusalError).
type icmpConn struct {
	*net.UDPConn
	// last is the latest ICMP error taken from the queue: a reader and a
	// writer may both be told of one error, and only one of them finds
	// it in the queue.
	last *lastICMP
}

type lastICMP struct {
	mu    sync.Mutex
	r     *ICMPReport
	errno uint32 // the errno the kernel gave for it
}

func newICMPConn(c *net.UDPConn) icmpConn {
	enableRecvErr(c)
	return icmpConn{UDPConn: c, last: &lastICMP{}}
}

func (c icmpConn) Read(b []byte) (int, error) {
	n, err := c.UDPConn.Read(b)
	return n, c.explain(err)
}

func (c icmpConn) Write(b []byte) (int, error) {
	n, err := c.UDPConn.Write(b)
	return n, c.explain(err)
}

func (c icmpConn) explain(err error) error {
	var errno syscall.Errno
	if err == nil || !errors.As(err, &errno) {
		return err
	}
	if errno == syscall.EPERM {
		return &LocalRefusalError{Err: err}
	}
	c.last.mu.Lock()
	defer c.last.mu.Unlock()
	if r, e, ok := readICMP(c.UDPConn); ok {
		c.last.r, c.last.errno = &r, e
	}
	if c.last.r != nil && c.last.errno == uint32(errno) {
		return &ICMPError{ICMPReport: *c.last.r, Err: err}
	}
	return err
}

// LocalRefusalError means this machine's own firewall refused to send the
// datagram (an OUTPUT rule: the kernel answers EPERM).
type LocalRefusalError struct{ Err error }

func (e *LocalRefusalError) Error() string {
	return "this machine refused to send it (a local firewall rule): " + e.Err.Error()
}
func (e *LocalRefusalError) Unwrap() error { return e.Err }
