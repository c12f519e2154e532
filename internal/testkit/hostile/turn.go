package hostile

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// dyingTURN is a real TURN server (pion/turn) that stops dead, as a
// killed process would, once it has seen DieAfter relayed packets
// (ChannelData or Send indications) from its clients: sockets closed,
// allocations gone, TCP connections reset.
type dyingTURN struct {
	mu      sync.Mutex // held while srv is being set up
	srv     *turn.Server
	relayed atomic.Int32
	once    sync.Once
	s       *Server
}

func startDyingTURN(s *Server) error {
	d := &dyingTURN{s: s}
	d.mu.Lock()
	defer d.mu.Unlock()
	s.mu.Lock()
	s.turn = d
	s.mu.Unlock()
	key := turn.GenerateAuthKey(Username, Realm, Password)
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	relay := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}
	}
	var err error
	d.srv, err = turn.NewServer(turn.ServerConfig{
		Realm: Realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == Username
		},
		LoggerFactory:     logs,
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: &countingPacketConn{PacketConn: s.udp, d: d}, RelayAddressGenerator: relay()}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: &countingListener{Listener: s.tcp, d: d}, RelayAddressGenerator: relay()}},
	})
	return err
}

// saw counts one packet from a client and kills the server at the limit.
func (d *dyingTURN) saw(b []byte) {
	if len(b) > 0 && relayedData(b) && d.relayed.Add(1) == DieAfter {
		go d.s.Close()
	}
}

func (d *dyingTURN) kill() {
	d.once.Do(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.srv != nil {
			_ = d.srv.Close()
		}
	})
}

// relayedData is true for a ChannelData message or a Send indication.
func relayedData(b []byte) bool {
	if b[0]>>6 == 1 {
		return true
	}
	return len(b) >= 2 && b[0] == 0x00 && b[1] == 0x16
}

type countingPacketConn struct {
	net.PacketConn
	d *dyingTURN
}

func (c *countingPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err == nil {
		c.d.saw(p[:n])
	}
	return n, addr, err
}

type countingListener struct {
	net.Listener
	d *dyingTURN
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.d.s.track(c) {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	return &countingConn{Conn: c, d: l.d}, nil
}

// countingConn counts reads that start with relayed data: a TCP client
// sends one frame per write, so each usually arrives in a read of its own.
type countingConn struct {
	net.Conn
	d *dyingTURN
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.d.saw(p[:n])
	}
	return n, err
}
