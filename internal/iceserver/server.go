// Package iceserver runs rtcprobe's default server: an in-process STUN/TURN
// server on loopback with a throw-away credential. `rtcprobe` with no
// server arguments probes it, and the tests use it as their fixture.
package iceserver

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Realm is the TURN realm the embedded server announces.
const Realm = "rtcprobe.local"

// Server is a running embedded STUN/TURN server.
type Server struct {
	turn     *turn.Server
	host     string
	port     int
	username string
	password string
	// restSecret signs TURN REST credentials (RESTServers); it never
	// leaves this process.
	restSecret string
	nat        *NATResponder
	tlsPort    int
	certPool   *x509.CertPool
	cert       *x509.Certificate
	guard      *peerGuard
}

// Config adjusts the embedded server; the zero value is the default run's.
type Config struct {
	// Host is the loopback address to listen on (default 127.0.0.1).
	Host string
	// AuthHandler replaces the credential check (tests use it to reject).
	AuthHandler turn.AuthHandler
	// QuotaHandler limits allocations (tests use it for 486).
	QuotaHandler turn.QuotaHandler
	// PermissionHandler filters peers (tests use it for 403).
	PermissionHandler turn.PermissionHandler
}

// Start listens on UDP and TCP on the same ephemeral port, so one
// stun:/turn: URI names both, as on a real server's 3478.
func Start(cfg Config) (*Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	udp, tcp, err := ListenPair(cfg.Host)
	if err != nil {
		return nil, err
	}
	s := &Server{
		host:       cfg.Host,
		port:       udp.LocalAddr().(*net.UDPAddr).Port,
		username:   "rtcprobe-" + rand.Text(),
		password:   rand.Text(),
		restSecret: rand.Text(),
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	auth := cfg.AuthHandler
	if auth == nil {
		key := turn.GenerateAuthKey(s.username, Realm, s.password)
		rest := turn.LongTermTURNRESTAuthHandler(s.restSecret, logs.NewLogger("turn"))
		auth = func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username == s.username {
				return ra.Username, key, true
			}
			// Credentials minted from the REST secret, until they expire.
			return rest(ra)
		}
	}
	cert, pool, err := selfSigned(cfg.Host)
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, err
	}
	// TURN over TLS and DTLS get their own port, as 5349 beside 3478 on a
	// real server.
	tlsLn, dtlsLn, err := secureListeners(cfg.Host, cert)
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, err
	}
	s.tlsPort, s.certPool, s.cert = tlsLn.Addr().(*net.TCPAddr).Port, pool, cert.Leaf
	// Relays reach only this server's own relays (peers.go); the
	// permission handlers see each request's peer ports (peek.go).
	s.guard = newPeerGuard(cfg.Host)
	relay := func() turn.RelayAddressGenerator { return guardedRelay{next: newRelay(cfg.Host), g: s.guard} }
	permit := func(h turn.PermissionHandler) turn.PermissionHandler {
		return func(client net.Addr, ip net.IP) bool {
			return h(client, ip) && (cfg.PermissionHandler == nil || cfg.PermissionHandler(client, ip))
		}
	}
	udpPeek := &peekPacketConn{PacketConn: udp}
	tcpPeek, tlsPeek, dtlsPeek := newPeekListener(tcp), newPeekListener(tlsLn), newPeekListener(dtlsLn)
	s.turn, err = turn.NewServer(turn.ServerConfig{
		Realm:             Realm,
		AuthHandler:       auth,
		QuotaHandler:      cfg.QuotaHandler,
		LoggerFactory:     logs,
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udpPeek, RelayAddressGenerator: relay(), PermissionHandler: permit(udpPeek.permission(s.guard))}},
		ListenerConfigs: []turn.ListenerConfig{
			{Listener: tcpPeek, RelayAddressGenerator: relay(), PermissionHandler: permit(tcpPeek.permission(s.guard))},
			{Listener: tlsPeek, RelayAddressGenerator: relay(), PermissionHandler: permit(tlsPeek.permission(s.guard))},
			{Listener: dtlsPeek, RelayAddressGenerator: relay(), PermissionHandler: permit(dtlsPeek.permission(s.guard))},
		},
	})
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		_ = tlsLn.Close()
		_ = dtlsLn.Close()
		return nil, fmt.Errorf("embedded TURN server: %w", err)
	}
	if s.nat, err = StartNATResponder(nil, "127.0.0.1", "127.0.0.2"); err != nil {
		_ = s.turn.Close()
		return nil, err
	}
	return s, nil
}

// ListenPair binds UDP on an ephemeral port of host and TCP on the same
// number, retrying when another process holds that TCP port: one
// stun:/turn: URI then names both (test fixtures use it too).
func ListenPair(host string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, nil, fmt.Errorf("embedded server: %w", err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err == nil {
			return udp, tcp, nil
		}
		lastErr = err
		_ = udp.Close()
	}
	return nil, nil, fmt.Errorf("embedded server: no port free on both UDP and TCP: %w", lastErr)
}

// Servers lists what the embedded server offers, credentials included.
func (s *Server) Servers() []probes.Server {
	return []probes.Server{s.server("stun", s.port), s.server("turn", s.port), s.server("turns", s.tlsPort),
		s.server("turns", s.tlsPort, "?transport=udp")}
}

func (s *Server) server(scheme string, port int, query ...string) probes.Server {
	srv, err := probes.ParseServer(fmt.Sprintf("%s:%s%s", scheme, net.JoinHostPort(s.host, fmt.Sprint(port)), strings.Join(query, "")))
	if err != nil {
		panic(err) // built from our own listener's address: cannot be malformed
	}
	if srv.IsTURN() {
		srv.Username, srv.Password = s.username, s.password
	}
	return srv
}

// RESTServers are Servers with a TURN REST secret in place of the static
// credential: each user mints credentials that expire after ttl (coturn's
// use-auth-secret scheme), and the secret stays in this process.
func (s *Server) RESTServers(ttl time.Duration) []probes.Server {
	out := s.Servers()
	for i := range out {
		if out[i].IsTURN() {
			out[i].Username, out[i].Password = "", ""
			out[i].REST = &probes.RESTSecret{Secret: s.restSecret, TTL: ttl}
		}
	}
	return out
}

// Port is the UDP and TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// TLSPort is the port of TURN over TLS (turns:) on TCP and over DTLS
// (turns:…?transport=udp) on UDP.
func (s *Server) TLSPort() int { return s.tlsPort }

// CertPool trusts this run's self-signed certificate, for probing the
// turns: server without --insecure.
func (s *Server) CertPool() *x509.CertPool { return s.certPool }

// Certificate is this run's self-signed certificate, which the turns:
// server presents: for clients (probes, a browser) to trust besides their
// own roots.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// Credentials are the throw-away username and password of this run.
func (s *Server) Credentials() (username, password string) { return s.username, s.password }

// RefusedPeers counts what the server refused to relay to (permissions,
// datagrams, TCP connections): anything but its own relays on loopback.
func (s *Server) RefusedPeers() int64 { return s.guard.refused.Load() }

// IsRelay reports whether ap is a UDP relay this server holds now: a peer
// its clients may reach through it.
func (s *Server) IsRelay(ap netip.AddrPort) bool {
	s.guard.mu.Lock()
	defer s.guard.mu.Unlock()
	return s.guard.relays[relayAddr{false, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}]
}

// Close stops the server and releases its ports.
func (s *Server) Close() error {
	if s == nil || s.turn == nil {
		return errors.New("embedded server not started")
	}
	return errors.Join(s.turn.Close(), s.nat.Close())
}
