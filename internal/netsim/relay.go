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
	sched  *scheduler

	mu      sync.Mutex
	clients map[string]*net.UDPConn
	wg      sync.WaitGroup
}

// maxRelayClients bounds the sockets a relay opens towards its target.
const maxRelayClients = 64

// StartRelay listens on an ephemeral port of 127.0.0.1 and relays to
// target with oneWay delay each way.
func StartRelay(target *net.UDPAddr, oneWay time.Duration) (*Relay, error) {
	if target == nil || !target.IP.IsLoopback() {
		return nil, errors.New("relay target must be on loopback")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &Relay{conn: conn, target: target, delay: oneWay, sched: newScheduler(), clients: map[string]*net.UDPConn{}}
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
		_ = c.Close()
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
		up, err := r.upstream(from)
		if err != nil {
			continue
		}
		p := clone(buf[:n])
		r.sched.at(time.Now().Add(r.delay), func() { _, _ = up.Write(p) })
	}
}

// upstream is client's socket towards the target, opened on first use
// with a goroutine relaying target → client.
func (r *Relay) upstream(client *net.UDPAddr) (*net.UDPConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[client.String()]; ok {
		return c, nil
	}
	if len(r.clients) >= maxRelayClients {
		return nil, errors.New("too many relay clients")
	}
	up, err := net.DialUDP("udp4", nil, r.target)
	if err != nil {
		return nil, err
	}
	r.clients[client.String()] = up
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := up.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && !ne.Timeout() && !errors.Is(err, net.ErrClosed) {
					continue // ICMP unreachable from a closed server port: keep relaying
				}
				return
			}
			p := clone(buf[:n])
			r.sched.at(time.Now().Add(r.delay), func() { _, _ = r.conn.WriteToUDP(p, client) })
		}
	}()
	return up, nil
}
