package probes_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func mustServer(t *testing.T, raw, user, pass string) probes.Server {
	t.Helper()
	s, err := probes.ParseServer(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.Username, s.Password = user, pass
	return s
}

// TestTURNFaults: a server that never answers, refuses, or hangs up fails
// with the typed error that names it, by the deadline.
func TestTURNFaults(t *testing.T) {
	testenv.CheckGoroutines(t)

	silentUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentUDP.Close()

	closedUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closedUDP.LocalAddr().(*net.UDPAddr).Port
	_ = closedUDP.Close()

	silentTCP := listenTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	// Reads the Allocate request, then closes mid-allocation.
	hangUp := listenTCP(t, func(c net.Conn) {
		buf := make([]byte, 20)
		_, _ = io.ReadFull(c, buf)
	})

	port := func(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }
	tests := []struct {
		name  string
		uri   string
		check func(error) bool
	}{
		{"silent UDP", "turn:127.0.0.1:" + port(silentUDP.LocalAddr()) + "?transport=udp", func(err error) bool {
			var te *probes.TimeoutError
			return errors.As(err, &te) && te.Stage == "" && te.Transport == probes.UDP
		}},
		{"silent DTLS", "turns:127.0.0.1:" + port(silentUDP.LocalAddr()) + "?transport=udp", func(err error) bool {
			var te *probes.TimeoutError
			return errors.As(err, &te) && te.Transport == probes.DTLS
		}},
		{"closed UDP port", "turn:127.0.0.1:" + strconv.Itoa(closedPort) + "?transport=udp", func(err error) bool {
			var re *probes.RefusedError
			return errors.As(err, &re)
		}},
		// The DTLS handshake runs over a connected socket: the ICMP port
		// unreachable ends it at once, with its type.
		{"closed DTLS port", "turns:127.0.0.1:" + strconv.Itoa(closedPort) + "?transport=udp", func(err error) bool {
			var re *probes.RefusedError
			return errors.As(err, &re) && re.Transport == probes.DTLS && re.ICMP != nil && re.ICMP.PortUnreachable()
		}},
		{"silent TCP", "turn:127.0.0.1:" + port(silentTCP) + "?transport=tcp", func(err error) bool {
			var te *probes.TimeoutError
			return errors.As(err, &te) && te.Stage == "" && te.Transport == probes.TCP
		}},
		{"TCP closed mid-allocation", "turn:127.0.0.1:" + port(hangUp) + "?transport=tcp", func(err error) bool {
			var ce *probes.ClosedError
			return errors.As(err, &ce) && ce.Request == "Allocate"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, tc.uri, "u", "p")
			const deadline = 600 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			m := probes.TURN(ctx, probes.Target{Server: s, Transport: s.Transports()[0]}, fastTURN)
			if took := time.Since(start); took > deadline+500*time.Millisecond {
				t.Errorf("took %s, past the %s deadline", took, deadline)
			}
			if !tc.check(m.Err) {
				t.Errorf("err = %v (%T), not the expected kind", m.Err, m.Err)
			}
		})
	}
}

// listenTCP accepts connections on loopback and hands each to serve.
func listenTCP(t *testing.T, serve func(net.Conn)) net.Addr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() { serve(c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr()
}

// TestTURNStaleNonceRetriedOnce puts a UDP relay in front of the embedded
// server that answers the first authenticated Allocate with 438 (carrying
// the server's own, still valid nonce): the probe must retry and succeed.
func TestTURNStaleNonceRetriedOnce(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startTURNServer(t, iceserver.Config{})
	upstream := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.Port()}
	front, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		stale atomic.Int32
		wg    sync.WaitGroup
		backs = map[string]*net.UDPConn{} // one upstream socket per client: its own 5-tuple
	)
	// backFor returns the upstream socket of client from, starting its
	// server → client copier on first use.
	backFor := func(from net.Addr) (*net.UDPConn, error) {
		if b, ok := backs[from.String()]; ok {
			return b, nil
		}
		b, err := net.DialUDP("udp", nil, upstream)
		if err != nil {
			return nil, err
		}
		backs[from.String()] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, err := b.Read(buf)
				if err != nil {
					return
				}
				_, _ = front.WriteTo(buf[:n], from)
			}
		}()
		return b, nil
	}
	frontDone := make(chan struct{})
	go func() { // client → server, answering one authenticated Allocate with 438
		defer close(frontDone)
		buf := make([]byte, 1500)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if msg.Decode() == nil && msg.Type == stun.NewType(stun.MethodAllocate, stun.ClassRequest) &&
				msg.Contains(stun.AttrMessageIntegrity) && stale.CompareAndSwap(0, 1) {
				var nonce stun.Nonce
				_ = nonce.GetFrom(msg)
				resp, _ := stun.Build(stun.NewTransactionIDSetter(msg.TransactionID),
					stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse),
					stun.CodeStaleNonce, stun.NewRealm(iceserver.Realm), nonce, stun.Fingerprint)
				_, _ = front.WriteTo(resp.Raw, from)
				continue
			}
			b, err := backFor(from)
			if err != nil {
				return
			}
			_, _ = b.Write(buf[:n])
		}
	}()
	t.Cleanup(func() {
		_ = front.Close()
		<-frontDone
		for _, b := range backs { // the client → server loop has ended: backs is ours now
			_ = b.Close()
		}
		wg.Wait()
	})

	s := turnTarget(t, srv, probes.UDP).Server
	s.URI.Port = front.LocalAddr().(*net.UDPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m := probes.TURN(ctx, probes.Target{Server: s, Transport: probes.UDP}, probes.TURNConfig{Packets: 3, Interval: time.Millisecond, SkipIPv6: true})
	if stale.Load() != 1 {
		t.Fatal("the relay never sent 438")
	}
	if m.Err != nil {
		t.Fatalf("438 was not retried transparently: %v", m.Err)
	}
	if m.Metrics["packets_received"] != 3 {
		t.Errorf("packets_received = %v, want 3", m.Metrics["packets_received"])
	}
}

func TestRESTCredentials(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		user     string
		ttl      time.Duration
		wantUser string
	}{
		{"alice", time.Hour, "1700003600:alice"},
		{"", 10 * time.Minute, "1700000600"},
		{"bob", -time.Hour, "1699996400:bob"},
	}
	for _, tc := range tests {
		user, pass := probes.RESTCredentials("s3cret", tc.user, tc.ttl, now)
		if user != tc.wantUser {
			t.Errorf("username = %q, want %q", user, tc.wantUser)
		}
		if len(pass) != 28 { // base64 of a 20-byte HMAC-SHA1
			t.Errorf("password %q is not base64(HMAC-SHA1)", pass)
		}
	}
}

// TestTURNRESTCredentials: credentials minted from the shared secret are
// accepted by pion's own TURN REST verifier; expired ones are refused.
func TestTURNRESTCredentials(t *testing.T) {
	testenv.CheckGoroutines(t)
	const secret = "shared-secret-for-test"
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	srv := startTURNServer(t, iceserver.Config{AuthHandler: turn.LongTermTURNRESTAuthHandler(secret, logs.NewLogger("test"))})
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		ok   bool
	}{{"valid", time.Hour, true}, {"expired", -time.Minute, false}} {
		t.Run(tc.name, func(t *testing.T) {
			target := turnTarget(t, srv, probes.UDP)
			target.Server.Username, target.Server.Password = probes.RESTCredentials(secret, "alice", tc.ttl, time.Now())
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			m := probes.TURN(ctx, target, probes.TURNConfig{Packets: 2, Interval: time.Millisecond, SkipIPv6: true})
			if tc.ok && m.Err != nil {
				t.Fatalf("valid REST credentials refused: %v", m.Err)
			}
			var se *probes.STUNError
			if !tc.ok && (!errors.As(m.Err, &se) || !se.Authenticated) {
				t.Fatalf("expired REST credentials: err = %v, want the server to refuse them", m.Err)
			}
		})
	}
}

func TestTURNTLSCertificate(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startTURNServer(t, iceserver.Config{})
	for _, tr := range []probes.Transport{probes.TLS, probes.DTLS} {
		base := turnTarget(t, srv, tr)
		tests := []struct {
			name    string
			cfg     *tls.Config
			wantErr bool
		}{
			{"unknown authority", &tls.Config{MinVersion: tls.VersionTLS12}, true},
			{"wrong name", &tls.Config{RootCAs: srv.CertPool(), ServerName: "turn.example.org", MinVersion: tls.VersionTLS12}, true},
			{"insecure", &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, false}, //nolint:gosec // what --insecure does
			{"trusted", base.TLS, false},
		}
		for _, tc := range tests {
			t.Run(string(tr)+" "+tc.name, func(t *testing.T) {
				target := base
				target.TLS = tc.cfg
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				m := probes.TURN(ctx, target, probes.TURNConfig{Packets: 2, Interval: time.Millisecond, SkipIPv6: true})
				var te *probes.TLSError
				if tc.wantErr != errors.As(m.Err, &te) || (!tc.wantErr && m.Err != nil) {
					t.Fatalf("err = %v (%T), want TLSError %v", m.Err, m.Err, tc.wantErr)
				}
			})
		}
	}
}

// A turns: URI aimed at a port that serves TURN over plain UDP only: the
// DTLS handshake hears nothing, and the follow-up Binding to the same
// port is answered, which the observations record.
func TestDTLSSilentFollowUp(t *testing.T) {
	srv := startTURNServer(t, iceserver.Config{})
	udp := turnTarget(t, srv, probes.UDP)
	s := mustServer(t, "turns:"+udp.Addr()+"?transport=udp", "u", "p")
	ctx, log := probes.Recording(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m := probes.TURN(ctx, probes.Target{Server: s, Transport: probes.DTLS}, fastTURN)
	var te *probes.TimeoutError
	if !errors.As(m.Err, &te) || te.Transport != probes.DTLS {
		t.Fatalf("err = %v, want a DTLS timeout", m.Err)
	}
	obs := log.Take(m.Err)
	var found bool
	for _, o := range obs {
		if strings.HasPrefix(o.Step, "follow-up: STUN Binding") && o.Outcome == probes.OutcomeAnswered {
			found = true
		}
	}
	if !found {
		t.Errorf("no answered STUN follow-up among %+v", obs)
	}
}
