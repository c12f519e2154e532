package serve

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter caps the connections open at once, in all and per client
// address (IPv4 address, IPv6 /64): each holds a goroutine, buffers and
// up to MaxHeaderBytes of headers, so the cap bounds that memory whatever
// clients do.
//
// At the total cap a new connection is not turned away: it takes the
// place of the oldest connection serving no request (reading a header,
// handshaking, idle) of the network (IPv4 /24, IPv6 /48) that holds the
// most. Whoever fills the table from a few networks therefore loses its
// own places to newcomers, and a client from any other network always
// gets in; only connections with a request being served are never taken,
// and those are bounded by the in-flight places, far under the cap. A
// connection over its address's share is closed at once.
type connLimiter struct {
	net.Listener
	max, perClient int
	now            func() time.Time

	mu        sync.Mutex
	open      int
	byClient  map[netip.Prefix]int
	byNetwork map[netip.Prefix]map[*limitedConn]struct{}
	// refused and taken count connections closed over an address's share
	// and to make room for a newcomer (metrics).
	refused, taken atomic.Int64
}

func newConnLimiter(ln net.Listener, max, perClient int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perClient: min(max, perClient), now: time.Now,
		byClient: map[netip.Prefix]int{}, byNetwork: map[netip.Prefix]map[*limitedConn]struct{}{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
		_ = c.Close()
	}
}

// admit registers c, making room at the total cap; nil refuses it.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	client := clientPrefix(c.RemoteAddr().String())
	network := networkPrefix(client)
	l.mu.Lock()
	if l.byClient[client] >= l.perClient {
		l.mu.Unlock()
		l.refused.Add(1)
		return nil
	}
	var victim *limitedConn
	if l.open >= l.max {
		if victim = l.victim(); victim == nil {
			l.mu.Unlock()
			l.refused.Add(1)
			return nil
		}
		// Its place is the newcomer's now, whatever its Close does.
		l.forget(victim)
	}
	lc := &limitedConn{Conn: c, l: l, client: client, network: network, since: l.now()}
	l.open++
	l.byClient[client]++
	if l.byNetwork[network] == nil {
		l.byNetwork[network] = map[*limitedConn]struct{}{}
	}
	l.byNetwork[network][lc] = struct{}{}
	l.mu.Unlock()
	if victim != nil {
		l.taken.Add(1)
		_ = victim.Conn.Close()
	}
	return lc
}

// victim is the oldest connection serving no request of the network
// holding the most connections that has one (nil: every connection is
// serving a request). Under l.mu.
func (l *connLimiter) victim() *limitedConn {
	var best *limitedConn
	bestSize := 0
	for _, set := range l.byNetwork {
		if len(set) < bestSize {
			continue
		}
		var oldest *limitedConn
		for lc := range set {
			if lc.serving.Load() == 0 && (oldest == nil || lc.since.Before(oldest.since)) {
				oldest = lc
			}
		}
		if oldest == nil {
			continue
		}
		if len(set) > bestSize || oldest.since.Before(best.since) {
			best, bestSize = oldest, len(set)
		}
	}
	return best
}

// forget gives lc's place back, once. Under l.mu.
func (l *connLimiter) forget(lc *limitedConn) {
	if lc.gone {
		return
	}
	lc.gone = true
	l.open--
	if l.byClient[lc.client]--; l.byClient[lc.client] <= 0 {
		delete(l.byClient, lc.client)
	}
	set := l.byNetwork[lc.network]
	delete(set, lc)
	if len(set) == 0 {
		delete(l.byNetwork, lc.network)
	}
}

// counts is how many connections are open, were refused and were taken
// for a newcomer.
func (l *connLimiter) counts() (open int, refused, taken int64) {
	l.mu.Lock()
	open = l.open
	l.mu.Unlock()
	return open, l.refused.Load(), l.taken.Load()
}

// networkPrefix is the network a client address belongs to: its /24
// (IPv4) or /48 (IPv6), what one site or one customer usually holds.
func networkPrefix(client netip.Prefix) netip.Prefix {
	bits := 24
	if client.Addr().Is6() {
		bits = 48
	}
	p, err := client.Addr().Prefix(bits)
	if err != nil {
		return client
	}
	return p
}

// limitedConn gives its place back when closed, once, and counts the
// requests being served on it (track marks them) so that a connection
// busy with one is never taken for a newcomer.
type limitedConn struct {
	net.Conn
	l               *connLimiter
	client, network netip.Prefix
	since           time.Time
	serving         atomic.Int32
	gone            bool // under l.mu
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	c.l.forget(c)
	c.l.mu.Unlock()
	return err
}

// CloseWrite keeps net/http's graceful close of a connection it refuses
// (it half-closes TCP connections before closing them).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// limitedOf is the limiter's connection under c (nil when c did not come
// through one: tests serving elsewhere).
func limitedOf(c net.Conn) *limitedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, _ := c.(*limitedConn)
	return lc
}
