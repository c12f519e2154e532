// Package hostile is a server that misbehaves on purpose, one way per
// Mode, on UDP and TCP of one loopback port: what rtcprobe must survive
// from servers it does not trust (bounded memory, deadlines that hold,
// nothing from the wire reaching a terminal unescaped). The same port
// answers STUN/TURN and HTTP (a WebSocket Upgrade or a proxy CONNECT),
// told apart by the first byte a client sends.
package hostile

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
)

// Mode is one misbehaviour.
type Mode string

// The modes. HTTP means an answer to a WebSocket Upgrade or a CONNECT;
// STUN means answers to any STUN request (Binding, Allocate, …) over UDP
// and TCP. A mode that does not apply to a protocol stays silent there.
const (
	// HeaderLine: HTTP status line, then one header line that never ends.
	HeaderLine Mode = "endless-header-line"
	// HeaderCount: HTTP status line, then header lines without end.
	HeaderCount Mode = "endless-header-count"
	// Flood101: a valid 101 (or 200 to CONNECT), then a WebSocket message
	// whose fragments never end; STUN over TCP: messages for other
	// transactions without end.
	Flood101 Mode = "101-then-flood"
	// Dribble: a valid HTTP or STUN-over-TCP answer, one byte a second.
	Dribble Mode = "one-byte-per-second"
	// NoRead: TCP accepted and never read; UDP never read.
	NoRead Mode = "accept-never-read"
	// Silent: everything read, nothing ever answered, on UDP and TCP.
	Silent Mode = "silent"
	// WrongTransaction: STUN success answers with a transaction ID that
	// matches no request.
	WrongTransaction Mode = "stun-wrong-transaction-id"
	// Truncated: a STUN answer whose attribute runs past the message end.
	Truncated Mode = "stun-truncated-attribute"
	// AttrLength65535: a STUN answer of the largest length the header
	// allows, holding one attribute of length 65535.
	AttrLength65535 Mode = "stun-attribute-length-65535"
	// ManyAttributes: a STUN answer with thousands of attributes.
	ManyAttributes Mode = "stun-thousands-of-attributes"
	// BadFamily: XOR-MAPPED-ADDRESS with an address family that does not
	// exist.
	BadFamily Mode = "stun-bad-address-family"
	// ControlChars: ESC, BEL and NUL in STUN reason phrases, REALM and
	// SOFTWARE, and in the HTTP status line.
	ControlChars Mode = "control-characters"
	// Fresh401: 401 to every request, each time with a fresh NONCE (HTTP:
	// 401 or 407 to every request).
	Fresh401 Mode = "401-forever"
	// Alternate: 300 Try Alternate naming the server itself (HTTP: a
	// redirect to the same URL).
	Alternate Mode = "300-to-itself"
	// DiesMidRelay: a working TURN server that stops dead after it has
	// relayed DieAfter packets.
	DiesMidRelay Mode = "turn-dies-mid-relay"
	// Healthy is the control: a WebSocket server that answers pings, a
	// proxy that tunnels, a STUN server that answers Binding requests.
	Healthy Mode = "healthy"
)

// Modes lists every misbehaving mode (Healthy is not one), for tests
// that try them all.
var Modes = []Mode{HeaderLine, HeaderCount, Flood101, Dribble, NoRead, Silent, WrongTransaction, Truncated,
	AttrLength65535, ManyAttributes, BadFamily, ControlChars, Fresh401, Alternate, DiesMidRelay}

// Credentials the TURN modes accept (DiesMidRelay) or ask for.
const (
	Username = "hostile"
	Password = "S3cret-hostile-password"
	Realm    = "hostile.test"
)

// DieAfter is how many relayed packets DiesMidRelay lets through.
const DieAfter = 50

// Server is a running hostile server.
type Server struct {
	mode Mode
	udp  net.PacketConn
	tcp  net.Listener
	port int
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	turn   *dyingTURN // DiesMidRelay only
}

// Start listens on 127.0.0.1, UDP and TCP on one port, and misbehaves as
// mode says until Close.
func Start(mode Mode) (*Server, error) {
	udp, tcp, err := iceserver.ListenPair("127.0.0.1")
	if err != nil {
		return nil, err
	}
	s := &Server{mode: mode, udp: udp, tcp: tcp, port: udp.LocalAddr().(*net.UDPAddr).Port,
		done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	if mode == DiesMidRelay {
		if err := startDyingTURN(s); err != nil {
			_ = udp.Close()
			_ = tcp.Close()
			return nil, err
		}
		return s, nil
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// Mode is what this server does wrong.
func (s *Server) Mode() Mode { return s.mode }

// Port is the UDP and TCP port.
func (s *Server) Port() int { return s.port }

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Close stops the server, ends every connection and waits for its
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for c := range s.conns {
		_ = c.Close()
	}
	dying := s.turn
	s.mu.Unlock()
	_ = s.udp.Close()
	_ = s.tcp.Close()
	if dying != nil {
		dying.kill()
	}
	s.wg.Wait()
	return nil
}

// track registers a connection so Close can end it; false when closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	if s.mode == NoRead {
		<-s.done
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		for _, out := range s.stunAnswers(buf[:n], from, false) {
			_, _ = s.udp.WriteTo(out, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// serveConn tells HTTP from STUN by the first byte: a request method is
// letters, a STUN message starts with two zero bits.
func (s *Server) serveConn(c net.Conn) {
	if s.mode == NoRead {
		<-s.done
		return
	}
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	if first[0] >= 'A' && first[0] <= 'Z' {
		s.serveHTTP(c, br)
		return
	}
	s.serveSTUNStream(c, br)
}

// flood writes chunk until the peer or Close ends the connection.
func (s *Server) flood(c net.Conn, chunk []byte) {
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// dribble writes b one byte a second.
func (s *Server) dribble(c net.Conn, b []byte) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := range b {
		if _, err := c.Write(b[i : i+1]); err != nil {
			return
		}
		select {
		case <-tick.C:
		case <-s.done:
			return
		}
	}
}
