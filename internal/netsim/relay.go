package netsim

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Relay is a UDP relay on loopback that delays every datagram by a fixed
// time in each direction: put in front of a real server (a STUN or TURN
// server on 127.0.0.1), it makes the path to it that much longer, so a
// probe's round trip over real sockets has a known truth. Each client
// address gets its own socket towards the server, so the server sees
// one 5-tuple per client, as through a NAT.
type Relay struct {
	conn   *net.UDPConn
	target *net.UDPAddr
	delay  time.Duration
	fault  func(Datagram) Fault
	sched  *scheduler

	mu      sync.Mutex
	clients map[string]relayClient
	wg      sync.WaitGroup
}

// Datagram is one datagram crossing a relay, as its fault sees it.
type Datagram struct {
	// Client numbers the relay's clients 0, 1, … in the order they first
	// sent.
	Client int
	// ToServer is true for client → target, false for target → client.
	ToServer bool
	// Data is the payload, not to be kept or changed.
	Data []byte
}

// Fault is what a relay does to one datagram besides its delay.
type Fault struct {
	// Drop loses the datagram.
	Drop bool
	// Extra holds it this much longer than the relay's delay; later
	// datagrams may overtake it.
	Extra time.Duration
}

// maxRelayClients bounds the sockets a relay opens towards its target.
const maxRelayClients = 64

// StartRelay listens on an ephemeral port of 127.0.0.1 and relays to
// target with oneWay delay each way.
func StartRelay(target *net.UDPAddr, oneWay time.Duration) (*Relay, error) {
	return StartFaultyRelay(target, oneWay, nil)
}

// StartFaultyRelay is StartRelay with fault deciding about each datagram:
// the loss or extra delay a test injects, per client and direction (a
// relay that loses only what one client receives, say). fault is called
// from the relay's goroutines, one per client and direction, at once;
// nil is no fault.
func StartFaultyRelay(target *net.UDPAddr, oneWay time.Duration, fault func(Datagram) Fault) (*Relay, error) {
	if fault == nil {
		fault = func(Datagram) Fault { return Fault{} }
	}
	if target == nil || !target.IP.IsLoopback() {
		return nil, errors.New("relay target must be on loopback")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &Relay{conn: conn, target: target, delay: oneWay, fault: fault, sched: newScheduler(), clients: map[string]relayClient{}}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// Close stops relaying and drops what is in flight.
func (r *Relay) Close() error {
	err := r.conn.Close()
	r.mu.Lock()
	for _, c := range r.clients {
		_ = c.conn.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.sched.close()
	return err
}

// serve relays client → target.
func (r *Relay) serve() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		up, client, err := r.upstream(from)
		if err != nil {
			continue
		}
		f := r.fault(Datagram{Client: client, ToServer: true, Data: buf[:n]})
		if f.Drop {
			continue
		}
		p := clone(buf[:n])
		r.sched.at(time.Now().Add(r.delay+f.Extra), func() { _, _ = up.Write(p) })
	}
}

// upstream is client's socket towards the target and the client's
// number, opened on first use with a goroutine relaying target → client.
func (r *Relay) upstream(client *net.UDPAddr) (*net.UDPConn, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[client.String()]; ok {
		return c.conn, c.n, nil
	}
	if len(r.clients) >= maxRelayClients {
		return nil, 0, errors.New("too many relay clients")
	}
	up, err := net.DialUDP("udp4", nil, r.target)
	if err != nil {
		return nil, 0, err
	}
	n := len(r.clients)
	r.clients[client.String()] = relayClient{conn: up, n: n}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			size, err := up.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && !ne.Timeout() && !errors.Is(err, net.ErrClosed) {
					continue // ICMP unreachable from a closed server port: keep relaying
				}
				return
			}
			f := r.fault(Datagram{Client: n, Data: buf[:size]})
			if f.Drop {
				continue
			}
			p := clone(buf[:size])
			r.sched.at(time.Now().Add(r.delay+f.Extra), func() { _, _ = r.conn.WriteToUDP(p, client) })
		}
	}()
	return up, n, nil
}

// relayClient is one client's socket towards the target and its number.
type relayClient struct {
	conn *net.UDPConn
	n    int
}
