package iceserver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// peerGuard keeps the embedded server from relaying to this host's own
// services. It listens on loopback, so every peer its relays can reach is
// on this host: rtcprobe serve's routes, a database, another user's
// sockets. Its clients only ever need each other's relays (two probes'
// allocations, a browser's relay and the pre-call page's pion peer), so on
// loopback a peer must be a relay this server allocated and still holds.
// A server on another address (lab tests) also refuses loopback,
// unspecified, multicast and broadcast peers and this host's addresses.
type peerGuard struct {
	loopback bool
	local    map[netip.Addr]bool

	mu     sync.Mutex
	relays map[relayAddr]bool
	// refused counts packets and connections refused (Refused).
	refused atomic.Int64
}

// relayAddr is a relay this server holds: a UDP relay, or the listener of
// a TCP allocation (RFC 6062).
type relayAddr struct {
	tcp bool
	ap  netip.AddrPort
}

var errPeerRefused = errors.New("embedded TURN server: peer refused (not one of this server's relays)")

func newPeerGuard(host string) *peerGuard {
	g := &peerGuard{relays: map[relayAddr]bool{}, local: map[netip.Addr]bool{}}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		g.loopback = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				g.local[p.Addr().Unmap()] = true
			}
		}
	}
	return g
}

func (g *peerGuard) hold(r relayAddr, held bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if held {
		g.relays[r] = true
	} else {
		delete(g.relays, r)
	}
}

// allowed reports whether the server may send to ap (over TCP: connect).
func (g *peerGuard) allowed(tcp bool, ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	g.mu.Lock()
	own := g.relays[relayAddr{tcp, ap}]
	g.mu.Unlock()
	if own {
		return true
	}
	a := ap.Addr()
	if g.loopback || !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || g.local[a] {
		return false
	}
	return true
}

// permit judges a permission (CreatePermission, ChannelBind, Connect) to
// ip, given the peer addresses of the request being handled: pion asks
// by IP alone, and this server's relays share their IP with everything
// else on loopback, so the request's ports decide. Without them (never
// expected) only an IP that is no relay's and allowed anyway passes.
func (g *peerGuard) permit(peers []netip.AddrPort, ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	seen := false
	for _, p := range peers {
		if p.Addr() != a {
			continue
		}
		seen = true
		if !g.allowed(false, p) && !g.allowed(true, p) {
			g.refused.Add(1)
			return false
		}
	}
	if !seen && !g.allowed(false, netip.AddrPortFrom(a, 0)) {
		g.refused.Add(1)
		return false
	}
	return true
}

// magicCookie is STUN's (RFC 8489), which XOR-PEER-ADDRESS is masked with.
const magicCookie = 0x2112A442

func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// permissionPeers are the XOR-PEER-ADDRESSes of b when it is a request
// that asks for a permission; nil for anything else.
func permissionPeers(b []byte) []netip.AddrPort {
	if !stun.IsMessage(b) {
		return nil
	}
	var t stun.MessageType
	t.ReadValue(binary.BigEndian.Uint16(b[0:2]))
	if t.Class != stun.ClassRequest || (t.Method != stun.MethodCreatePermission && t.Method != stun.MethodChannelBind && t.Method != stun.MethodConnect) {
		return nil
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		return nil
	}
	var peers []netip.AddrPort
	for _, at := range m.Attributes {
		if at.Type != stun.AttrXORPeerAddress || len(at.Value) < 8 {
			continue
		}
		v := at.Value
		if n := len(v) - 4; n != 4 && n != 16 {
			continue
		}
		port := binary.BigEndian.Uint16(v[2:4]) ^ uint16(magicCookie>>16)
		key := make([]byte, 16)
		binary.BigEndian.PutUint32(key, magicCookie)
		copy(key[4:], m.TransactionID[:])
		ip := make([]byte, len(v)-4)
		for i := range ip {
			ip[i] = v[4+i] ^ key[i]
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			peers = append(peers, netip.AddrPortFrom(a.Unmap(), port))
		}
	}
	return peers
}

// guardedRelay hands out relays that send only where the guard allows
// and keeps the guard's list of this server's relays.
type guardedRelay struct {
	next turn.RelayAddressGenerator
	g    *peerGuard
}

func (r guardedRelay) Validate() error { return r.next.Validate() }

func (r guardedRelay) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := r.next.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	self := relayAddr{false, addrPort(addr)}
	r.g.hold(self, true)
	return &guardedPacketConn{PacketConn: pc, g: r.g, self: self}, addr, nil
}

func (r guardedRelay) AllocateListener(c turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	ln, addr, err := r.next.AllocateListener(c)
	if err != nil {
		return nil, nil, err
	}
	self := relayAddr{true, addrPort(addr)}
	r.g.hold(self, true)
	return &guardedListener{Listener: ln, g: r.g, self: self}, addr, nil
}

// AllocateConn dials a TCP allocation's peer (Connect): only an allowed one.
func (r guardedRelay) AllocateConn(c turn.AllocateConnConfig) (net.Conn, error) {
	if !r.g.allowed(true, addrPort(c.RemoteAddr)) {
		r.g.refused.Add(1)
		return nil, errPeerRefused
	}
	return r.next.AllocateConn(c)
}

// guardedPacketConn is a UDP relay: datagrams to a refused peer are
// dropped (a permission was refused before, so none should come).
type guardedPacketConn struct {
	net.PacketConn
	g    *peerGuard
	self relayAddr
	once sync.Once
}

func (c *guardedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.g.allowed(false, addrPort(addr)) {
		c.g.refused.Add(1)
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (c *guardedPacketConn) Close() error {
	c.once.Do(func() { c.g.hold(c.self, false) })
	return c.PacketConn.Close()
}

type guardedListener struct {
	net.Listener
	g    *peerGuard
	self relayAddr
	once sync.Once
}

func (l *guardedListener) Close() error {
	l.once.Do(func() { l.g.hold(l.self, false) })
	return l.Listener.Close()
}
