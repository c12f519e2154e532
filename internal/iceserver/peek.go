package iceserver

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/pion/turn/v5"
)

// pion/turn asks its PermissionHandler about a peer's IP alone, but on
// loopback the IP does not tell this server's relays from the host's
// other services: the port must. pion handles each message of a socket
// (UDP) or connection (TCP, TLS, DTLS) in the goroutine that read it,
// before reading the next, so the peer addresses of the message just read
// are those of the request the handler is asked about. The wrappers here
// note them as pion reads.

// peekPacketConn is the server's UDP socket: one read loop for all
// clients.
type peekPacketConn struct {
	net.PacketConn
	peers []netip.AddrPort // of the datagram being handled
}

func (c *peekPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	c.peers = nil
	if err == nil {
		c.peers = permissionPeers(p[:n])
	}
	return n, addr, err
}

func (c *peekPacketConn) permission(g *peerGuard) turn.PermissionHandler {
	return func(_ net.Addr, ip net.IP) bool { return g.permit(c.peers, ip) }
}

// peekListener hands pion connections that return one TURN frame per
// Read (so pion's own framing never holds a request ahead of the one it
// handles), noting each frame's peer addresses by client address.
type peekListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*peekConn
}

func newPeekListener(l net.Listener) *peekListener {
	return &peekListener{Listener: l, conns: map[string]*peekConn{}}
}

func (l *peekListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc := &peekConn{Conn: c, r: bufio.NewReaderSize(c, 4096), l: l, key: c.RemoteAddr().String()}
	l.mu.Lock()
	l.conns[pc.key] = pc
	l.mu.Unlock()
	return pc, nil
}

func (l *peekListener) permission(g *peerGuard) turn.PermissionHandler {
	return func(client net.Addr, ip net.IP) bool {
		l.mu.Lock()
		c := l.conns[client.String()]
		l.mu.Unlock()
		var peers []netip.AddrPort
		if c != nil {
			peers = c.peers // written by the goroutine asking: no race
		}
		return g.permit(peers, ip)
	}
}

type peekConn struct {
	net.Conn
	r       *bufio.Reader
	l       *peekListener
	key     string
	pending []byte
	peers   []netip.AddrPort
	once    sync.Once
}

// Read returns (the rest of) one frame: a STUN message, or ChannelData
// padded to 4 bytes as over TCP (RFC 8656 12.5); anything else as it
// came, which pion refuses, closing the connection.
func (c *peekConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		frame, err := c.frame()
		if err != nil {
			return 0, err
		}
		c.pending, c.peers = frame, permissionPeers(frame)
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *peekConn) frame() ([]byte, error) {
	hdr, err := c.r.Peek(4)
	if err != nil {
		if n := c.r.Buffered(); n > 0 {
			b := make([]byte, n)
			_, _ = io.ReadFull(c.r, b)
			return b, nil
		}
		return nil, err
	}
	size := c.r.Buffered()
	length := int(binary.BigEndian.Uint16(hdr[2:4]))
	switch hdr[0] >> 6 {
	case 0: // STUN
		size = 20 + length
	case 1: // ChannelData
		size = 4 + (length+3)&^3
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *peekConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.conns[c.key] == c {
			delete(c.l.conns, c.key)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
