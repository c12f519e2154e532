package precall

import (
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// turnCreds are the TURN server and credentials a session handed the
// page for TURN over UDP.
type turnCreds struct{ addr, user, pass string }

func sessionTURN(t *testing.T, s sessionReply) turnCreds {
	t.Helper()
	for _, task := range s.Tasks {
		b, _ := json.Marshal(task.Arg["iceServers"])
		var servers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		}
		_ = json.Unmarshal(b, &servers)
		for _, srv := range servers {
			for _, u := range srv.URLs {
				if rest, ok := strings.CutPrefix(u, "turn:"); ok && !strings.Contains(rest, "transport=tcp") {
					host, _, _ := strings.Cut(rest, "?")
					return turnCreds{addr: host, user: srv.Username, pass: srv.Credential}
				}
			}
		}
	}
	t.Fatal("the session hands out no turn: server over UDP")
	return turnCreds{}
}

// turnClient is a pion/turn client on loopback with a session's credentials.
func turnClient(t *testing.T, c turnCreds, conn net.PacketConn) *turn.Client {
	t.Helper()
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	cl, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: c.addr, TURNServerAddr: c.addr, Conn: conn,
		Username: c.user, Password: c.pass, LoggerFactory: logs, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	return cl
}

func udpClient(t *testing.T, c turnCreds) (*turn.Client, net.PacketConn) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	cl := turnClient(t, c, conn)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate with the session's credentials: %v", err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	return cl, relay
}

func isForbidden(err error) bool {
	var te *stun.TurnError
	return errors.As(err, &te) && te.ErrorCodeAttr.Code == stun.CodeForbidden
}

// TestMintedTURNRelaysOnlyToRelays: credentials a pre-call session mints
// for the embedded TURN server cannot reach this host's services through
// it: CreatePermission to serve's own port or to a loopback UDP listener
// is 403 and the listener gets nothing, an RFC 6062 Connect to serve's
// port fails; relaying between two sessions' allocations still works; two
// sessions started in the same second get different usernames.
func TestMintedTURNRelaysOnlyToRelays(t *testing.T) {
	at := time.Now()
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 100, Now: func() time.Time { return at }}})
	a, b := sessionTURN(t, f.session(t)), sessionTURN(t, f.session(t))
	if a.user == b.user || a.pass == b.pass {
		t.Fatalf("two sessions minted in the same second share the username %q", a.user)
	}
	if !strings.Contains(a.user, ":") {
		t.Fatalf("username %q is not TURN REST's expiry:user", a.user)
	}
	clA, relayA := udpClient(t, a)
	_, relayB := udpClient(t, b)

	// A loopback UDP service, and serve's own port.
	victim, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	serveAddr := f.srv.Addr().(*net.TCPAddr)
	for _, peer := range []net.Addr{victim.LocalAddr(), &net.UDPAddr{IP: serveAddr.IP, Port: serveAddr.Port}, &net.UDPAddr{IP: net.IPv4zero, Port: serveAddr.Port}} {
		if err := clA.CreatePermission(peer); !isForbidden(err) {
			t.Errorf("CreatePermission to %s: %v, want 403 Forbidden", peer, err)
		}
		_, _ = relayA.WriteTo([]byte("GET /status HTTP/1.0\r\n\r\n"), peer)
	}
	_ = victim.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, from, err := victim.ReadFrom(make([]byte, 1500)); err == nil {
		t.Errorf("the loopback listener got %d bytes from %s through the relay", n, from)
	}

	// Relay to relay: each side permits the other, then A → B and B → A.
	for _, dir := range []struct {
		from, to net.PacketConn
	}{{relayA, relayB}, {relayB, relayA}} {
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 100)
			_ = dir.to.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				n, _, err := dir.to.ReadFrom(buf)
				if err != nil {
					close(got)
					return
				}
				if string(buf[:n]) == "hello" {
					got <- "hello"
					return
				}
			}
		}()
		// The receiver's permission for the sender first, then retries:
		// the first packets race the permission.
		_, _ = dir.to.WriteTo([]byte("open"), dir.from.LocalAddr())
		deadline := time.Now().Add(5 * time.Second)
		ok := false
		for !ok && time.Now().Before(deadline) {
			if _, err := dir.from.WriteTo([]byte("hello"), dir.to.LocalAddr()); err != nil {
				t.Fatalf("relay %s → relay %s: %v", dir.from.LocalAddr(), dir.to.LocalAddr(), err)
			}
			select {
			case s, open := <-got:
				ok = open && s == "hello"
				if !open {
					deadline = time.Time{}
				}
			case <-time.After(100 * time.Millisecond):
			}
		}
		if !ok {
			t.Errorf("relay %s → relay %s: nothing arrived", dir.from.LocalAddr(), dir.to.LocalAddr())
		}
	}

	// TURN over TCP with a TCP allocation (RFC 6062): no connection to
	// serve's port.
	tc, err := net.Dial("tcp4", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	clT := turnClient(t, a, turn.NewSTUNConn(tc))
	alloc, err := clT.AllocateTCP()
	if err != nil {
		t.Fatalf("TCP allocation: %v", err)
	}
	defer alloc.Close()
	if err := clT.CreatePermission(serveAddr); !isForbidden(err) {
		t.Errorf("CreatePermission over TCP to serve's port: %v, want 403", err)
	}
	if _, err := alloc.Connect(serveAddr); err == nil {
		t.Errorf("Connect to serve's port %s through the relay succeeded", serveAddr)
	}
	if n := f.emb.RefusedPeers(); n < 4 {
		t.Errorf("the embedded server counted %d refusals, want at least 4", n)
	}
}
