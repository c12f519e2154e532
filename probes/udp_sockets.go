package probes

import (
	"context"
	"net"
	"sync"
	"time"
)

// UDPSockets keeps the socket of a STUN probe over UDP that ended clean
// for the next probe of the same server address.
//
// A server keeps state for every client address it hears from: coturn
// holds a session of about 18 KiB for a minute after a lone Binding, and
// its allocator keeps the memory after that. An exporter probing from a
// fresh port each time makes the server hold a minute's worth of probes
// (4,000 probes: coturn's RSS 15 → 87 MiB, and it stays there). With the
// socket kept, a stream of probes is one client to the server, as a real
// WebRTC client's keepalives are.
//
// Only a socket on which nothing is outstanding is kept: every request
// answered, no answer unaccounted for. Anything that still comes in before
// the next probe takes it is read and dropped then, so a late datagram is
// never counted as that probe's stray answer.
//
// The zero value is not usable; nil is (every probe dials afresh).
type UDPSockets struct {
	mu     sync.Mutex
	idle   map[string][]keptSocket
	n      int
	closed bool
	// Max is the most sockets kept idle in all; IdleFor, how long one is.
	Max     int
	IdleFor time.Duration
}

type keptSocket struct {
	conn net.Conn
	at   time.Time
}

// Defaults: enough for the concurrent probes of a busy exporter, idle
// longer than the slowest usual scrape interval (1 m).
const (
	defaultKeptSockets = 256
	defaultKeptFor     = 2 * time.Minute
)

// NewUDPSockets returns an empty set with the defaults.
func NewUDPSockets() *UDPSockets {
	return &UDPSockets{idle: map[string][]keptSocket{}, Max: defaultKeptSockets, IdleFor: defaultKeptFor}
}

// dial gives a kept socket to addr when there is one, else a fresh one.
func (s *UDPSockets) dial(ctx context.Context, t Target) (net.Conn, error) {
	if s == nil || t.Transport != UDP {
		return dial(ctx, t)
	}
	addr, err := resolve(ctx, t, time.Now())
	if err != nil {
		return nil, err
	}
	for {
		c := s.take(addr)
		if c == nil {
			break
		}
		if drained(c) && c.SetDeadline(time.Time{}) == nil {
			return c, nil
		}
		_ = c.Close()
	}
	return dial(ctx, t)
}

// take removes the newest idle socket to addr, closing the expired ones.
func (s *UDPSockets) take(addr string) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(time.Now())
	list := s.idle[addr]
	if len(list) == 0 {
		return nil
	}
	k := list[len(list)-1]
	if len(list) == 1 {
		delete(s.idle, addr)
	} else {
		s.idle[addr] = list[:len(list)-1]
	}
	s.n--
	return k.conn
}

// keep puts c back for the next probe of its remote address, or closes it
// when the set is full or closed.
func (s *UDPSockets) keep(c net.Conn) {
	if s == nil {
		_ = c.Close()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.expire(now)
	if s.closed || s.n >= s.Max {
		_ = c.Close()
		return
	}
	addr := c.RemoteAddr().String()
	s.idle[addr] = append(s.idle[addr], keptSocket{conn: c, at: now})
	s.n++
}

// expire closes the sockets idle longer than IdleFor. Each list is in the
// order its sockets were kept, so the old ones are at its front.
func (s *UDPSockets) expire(now time.Time) {
	for addr, list := range s.idle {
		i := 0
		for i < len(list) && now.Sub(list[i].at) > s.IdleFor {
			_ = list[i].conn.Close()
			i++
		}
		s.n -= i
		if i == len(list) {
			delete(s.idle, addr)
		} else if i > 0 {
			s.idle[addr] = list[i:]
		}
	}
}

// Len is the number of sockets kept idle now.
func (s *UDPSockets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Close closes every kept socket; a socket kept after it is closed at once.
func (s *UDPSockets) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range s.idle {
		for _, k := range list {
			_ = k.conn.Close()
		}
	}
	s.idle, s.n, s.closed = map[string][]keptSocket{}, 0, true
}
