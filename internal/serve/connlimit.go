package serve

import (
	"net"
	"net/netip"
	"sync"
)

// connLimiter caps the connections open at once, in all and per client
// address (IPv4 address, IPv6 /64): each holds a goroutine, buffers and
// up to MaxHeaderBytes of headers, so the cap bounds that memory whatever
// clients do. A connection over a cap is accepted and closed at once,
// rather than left in the kernel's backlog where it would hold the
// well-behaved clients' connections back behind it.
type connLimiter struct {
	net.Listener
	max, perClient int

	mu       sync.Mutex
	open     int
	byClient map[netip.Prefix]int
}

func newConnLimiter(ln net.Listener, max, perClient int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perClient: min(max, perClient), byClient: map[netip.Prefix]int{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientPrefix(c.RemoteAddr().String())
		l.mu.Lock()
		if l.open >= l.max || l.byClient[client] >= l.perClient {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.open++
		l.byClient[client]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() { l.release(client) }}, nil
	}
}

func (l *connLimiter) release(client netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byClient[client]--; l.byClient[client] <= 0 {
		delete(l.byClient, client)
	}
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
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
