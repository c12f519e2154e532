package probes

import (
	"context"
	"net"
	"sync/atomic"
)

// Tally counts what a probe sent to the server and what came back: the
// audit reports its own footprint (messages sent) and the bytes answered
// per byte sent. It rides on the context, as the observation log does, so
// every connection the probe opens is counted, releases included.
type Tally struct {
	// Writes counts messages written: over UDP each is one datagram.
	Writes   atomic.Int64
	BytesOut atomic.Int64
	BytesIn  atomic.Int64
}

type tallyKey struct{}

// Counting returns a context whose TURN connections are counted into t.
func Counting(ctx context.Context, t *Tally) context.Context {
	return context.WithValue(ctx, tallyKey{}, t)
}

// counted wraps conn so that ctx's tally counts it; without one it is
// conn itself.
func counted(ctx context.Context, conn net.Conn) net.Conn {
	t, _ := ctx.Value(tallyKey{}).(*Tally)
	if t == nil {
		return conn
	}
	return &countingConn{Conn: conn, t: t}
}

type countingConn struct {
	net.Conn
	t *Tally
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.t.Writes.Add(1)
		c.t.BytesOut.Add(int64(n))
	}
	return n, err
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.BytesIn.Add(int64(n))
	return n, err
}
