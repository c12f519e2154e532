// Package witness is the listener `rtcprobe witness` runs where an admin
// wants proof, not a server's word, that a TURN server relays there: a
// host in an internal network, or a port on the TURN server's own host.
// It answers audit markers only, so it is no echo service for anyone
// else: a UDP datagram that begins with the audit's marker prefix goes
// back to its sender (through the relay, which is how the audit sees it
// arrive), at most a few a second; a TCP connection is reported and, if
// it carries a marker, answered with it.
package witness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Arrival is one marker datagram or connection that reached a listener.
type Arrival struct {
	Network string
	// At is the listener, From the sender (the TURN server's relay).
	At, From netip.AddrPort
	// Marker is the marker that came, sanitized; empty for a connection
	// that sent none.
	Marker string
	// Echoed is true when the marker went back to the sender.
	Echoed bool
	// Unreported is how many arrivals just before this one were not
	// reported: over reportsPerSecond, a flood is counted, not written.
	Unreported int
}

func (a Arrival) String() string {
	s := a.Network + " " + a.At.String() + " from " + a.From.String()
	switch {
	case a.Marker != "" && a.Echoed:
		s += ": marker " + a.Marker + " (echoed)"
	case a.Marker != "":
		s += ": marker " + a.Marker + " (not echoed: over the rate)"
	default:
		s += ": connection"
	}
	if a.Unreported > 0 {
		s += fmt.Sprintf(" (and %d arrivals before it not shown: over %d a second)", a.Unreported, reportsPerSecond)
	}
	return s
}

// reportsPerSecond bounds the lines a listener writes: anyone who can
// reach it could otherwise fill its log.
const reportsPerSecond = 50

// reporter hands at most reportsPerSecond arrivals a second to report,
// one at a time, and counts the rest into the next one it hands on.
type reporter struct {
	mu      sync.Mutex
	budget  *budget
	skipped int
	report  func(Arrival)
}

func newReporter(report func(Arrival)) *reporter {
	return &reporter{budget: newBudget(reportsPerSecond), report: report}
}

func (r *reporter) say(a Arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.budget.take() {
		r.skipped++
		return
	}
	a.Unreported, r.skipped = r.skipped, 0
	r.report(a)
}

// echoesPerSecond bounds what one listener sends back: an audit sends a
// few markers, and a witness must never become a reflector.
const echoesPerSecond = 20

// ServeUDP answers markers on pc until ctx ends or pc fails, reporting
// every marker that arrives. It closes pc when it returns.
func ServeUDP(ctx context.Context, pc net.PacketConn, report func(Arrival)) error {
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	defer pc.Close()
	at := addrPortOf(pc.LocalAddr())
	budget := newBudget(echoesPerSecond)
	r := newReporter(report)
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n > probes.MaxMarkerSize || !strings.HasPrefix(string(buf[:n]), probes.AuditMarkerPrefix) {
			continue
		}
		a := Arrival{Network: "udp", At: at, From: addrPortOf(from), Marker: sanitize.Text(string(buf[:n]))}
		if budget.take() {
			_, err := pc.WriteTo(buf[:n], from)
			a.Echoed = err == nil
		}
		r.say(a)
	}
}

// maxConns bounds the connections a TCP witness holds at once.
const maxConns = 16

// markerWait is how long a TCP witness waits for a marker on a
// connection (a TURN server's Connect sends none until a client binds
// the connection).
const markerWait = 2 * time.Second

// ServeTCP reports every connection to l and answers a marker sent on it,
// until ctx ends or l fails. It closes l when it returns.
func ServeTCP(ctx context.Context, l net.Listener, report func(Arrival)) error {
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	defer l.Close()
	at := addrPortOf(l.Addr())
	slots := make(chan struct{}, maxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	r := newReporter(report)
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		select {
		case slots <- struct{}{}:
		default:
			_ = conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer conn.Close()
			a := Arrival{Network: "tcp", At: at, From: addrPortOf(conn.RemoteAddr())}
			r.say(a) // the connection itself is the proof
			_ = conn.SetDeadline(time.Now().Add(markerWait))
			buf := make([]byte, probes.MaxMarkerSize)
			n, _ := conn.Read(buf)
			if n > 0 && strings.HasPrefix(string(buf[:n]), probes.AuditMarkerPrefix) {
				a.Marker = sanitize.Text(string(buf[:n]))
				_, err := conn.Write(buf[:n])
				a.Echoed = err == nil
				r.say(a)
			}
		}()
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// budget allows n events a second.
type budget struct {
	n     int
	used  int
	since time.Time
}

func newBudget(n int) *budget { return &budget{n: n, since: time.Now()} }

func (b *budget) take() bool {
	if time.Since(b.since) >= time.Second {
		b.used, b.since = 0, time.Now()
	}
	if b.used >= b.n {
		return false
	}
	b.used++
	return true
}
