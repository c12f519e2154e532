package netsim

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
)

// egress is what a peer's access link does to every UDP datagram the peer
// sends, as netem and a token-bucket shaper on the host's egress would:
//
//   - with a rate, datagrams are serialised one after another at that many
//     bits per second of UDP payload, behind a drop-tail queue holding
//     queueTime of traffic at that rate;
//   - then each waits delay plus a random extra drawn uniformly from
//     [0, jitter], independently for every datagram. Datagrams leave in
//     the order of their due times, so with jitter larger than their
//     spacing they are reordered, as with netem.
//
// For a stream whose packets are spaced at least jitter apart the RFC 3550
// interarrival jitter is then on average jitter/3 (the mean absolute
// difference of two independent uniform delays).
type egress struct {
	delay, jitter time.Duration
	rate          float64 // bits per second; 0 = unlimited
	sched         *scheduler

	mu       sync.Mutex
	rng      *mrand.Rand
	linkFree time.Time // when the serialiser finishes what it holds
}

// queueTime is how much traffic a rate-limited link buffers before it
// drops: a typical access router's queue.
const queueTime = 250 * time.Millisecond

func newEgress(delay, jitter time.Duration, rate float64, seed uint64) *egress {
	return &egress{delay: delay, jitter: jitter, rate: rate, sched: newScheduler(), rng: mrand.New(mrand.NewPCG(seed, 0x11e7))}
}

// send queues one datagram; write puts it on the wire when it is due.
func (e *egress) send(size int, write func()) {
	if due, ok := e.due(time.Now(), size); ok {
		e.sched.at(due, write)
	}
}

// due is when a datagram of size bytes handed over at now leaves, or
// false when the rate limiter's queue is full and it is dropped.
func (e *egress) due(now time.Time, size int) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	due := now
	if e.rate > 0 {
		start := now
		if e.linkFree.After(now) {
			start = e.linkFree
		}
		if start.Sub(now) > queueTime {
			return time.Time{}, false // the queue is full: tail drop
		}
		e.linkFree = start.Add(time.Duration(float64(size*8) / e.rate * float64(time.Second)))
		due = e.linkFree
	}
	due = due.Add(e.delay)
	if e.jitter > 0 {
		due = due.Add(time.Duration(e.rng.Int64N(int64(e.jitter) + 1)))
	}
	return due, true
}

func (e *egress) close() { e.sched.close() }

// shapedNet is a peer's network whose UDP sockets send through egress.
type shapedNet struct {
	transport.Net
	out *egress
}

func (n *shapedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(transport.UDPConn); ok {
		return &shapedConn{UDPConn: uc, out: n.out}, nil
	}
	return c, nil
}

func (n *shapedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &shapedConn{UDPConn: c, out: n.out}, nil
}

func (n *shapedNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return &shapedConn{UDPConn: c, out: n.out}, nil
}

func (n *shapedNet) Dial(network, address string) (net.Conn, error) {
	c, err := n.Net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(transport.UDPConn); ok {
		return &shapedConn{UDPConn: uc, out: n.out}, nil
	}
	return c, nil
}

// shapedConn copies each datagram and hands it to the egress: the write
// returns at once, as a send into a qdisc does. What vnet would refuse
// on the spot is refused on the spot too (the simulated network is IPv4
// only); any other error of a delayed write is returned by the next one.
type shapedConn struct {
	transport.UDPConn
	out  *egress
	last atomic.Pointer[error]
}

var errIPv4Only = errors.New("the simulated network carries IPv4 only")

func (c *shapedConn) check(addr net.Addr) error {
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		return errIPv4Only
	}
	if addr != nil {
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			return fmt.Errorf("not a UDP address: %v", addr)
		}
		if ua.IP.To4() == nil {
			return errIPv4Only
		}
	}
	if err := c.last.Swap(nil); err != nil {
		return *err
	}
	return nil
}

func (c *shapedConn) keep(_ int, err error) {
	if err != nil {
		c.last.Store(&err)
	}
}

func (c *shapedConn) Write(b []byte) (int, error) {
	if err := c.check(nil); err != nil {
		return 0, err
	}
	p := clone(b)
	c.out.send(len(p), func() { c.keep(c.UDPConn.Write(p)) })
	return len(b), nil
}

func (c *shapedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if err := c.check(addr); err != nil {
		return 0, err
	}
	p := clone(b)
	c.out.send(len(p), func() { c.keep(c.UDPConn.WriteTo(p, addr)) })
	return len(b), nil
}

func (c *shapedConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteTo(b, addr)
}

func (c *shapedConn) WriteMsgUDP(b, _ []byte, addr *net.UDPAddr) (int, int, error) {
	if addr == nil {
		n, err := c.Write(b)
		return n, 0, err
	}
	n, err := c.WriteTo(b, addr)
	return n, 0, err
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
