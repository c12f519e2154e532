package probes_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/internal/witness"
	"github.com/rtcprobe/rtcprobe/probes"
)

// openTURN is a TURN server on loopback that relays anywhere (pion's
// default permission handler): what the audit must catch. It listens on
// UDP and TCP on one port and relays from 127.0.0.1.
func openTURN(t *testing.T) probes.Server {
	t.Helper()
	udp, tcp, err := iceserver.ListenPair("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	relay := &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	key := turn.GenerateAuthKey("u", "open.test", "p")
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "open.test", LoggerFactory: logs,
		AuthHandler:       func(ra *turn.RequestAttributes) (string, []byte, bool) { return ra.Username, key, ra.Username == "u" },
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: relay}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: relay}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s, err := probes.ParseServer(fmt.Sprintf("turn:127.0.0.1:%d", udp.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	s.Username, s.Password = "u", "p"
	return s
}

// arrivals collects what the test's witnesses saw.
type arrivals struct {
	mu   sync.Mutex
	seen []witness.Arrival
}

func (a *arrivals) add(w witness.Arrival) { a.mu.Lock(); a.seen = append(a.seen, w); a.mu.Unlock() }

func (a *arrivals) at(network, addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, w := range a.seen {
		if w.Network == network && w.At.String() == addr {
			n++
		}
	}
	return n
}

// TestAuditProvesArrival: through a server that relays anywhere, a marker
// to a loopback witness comes back (proof), and so do those sent to
// ::ffff:127.0.0.1 and 0.0.0.0 on the witness's port, which reach it too; a permission for an
// address without a witness is the server's answer alone; the TCP relay
// connects to a TCP witness; every marker the audit counts as arrived is
// one the witness saw, and the audit sends to nothing but the server.
func TestAuditProvesArrival(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := openTURN(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := &arrivals{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = witness.ServeUDP(ctx, pc, seen.add) }()
	go func() { defer wg.Done(); _ = witness.ServeTCP(ctx, ln, seen.add) }()
	defer wg.Wait()
	defer cancel()
	udpW := probes.Witness{Network: "udp", Addr: netip.MustParseAddrPort(pc.LocalAddr().String())}
	tcpW := probes.Witness{Network: "tcp", Addr: netip.MustParseAddrPort(ln.Addr().String())}

	actx, acancel := context.WithTimeout(ctx, 15*time.Second)
	defer acancel()
	rep := probes.AuditTURN(actx, probes.Target{Server: srv, Transport: probes.UDP}, probes.AuditConfig{Witnesses: []probes.Witness{udpW, tcpW}})
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	find := func(relay, peer string) probes.PeerAnswer {
		t.Helper()
		i := slices.IndexFunc(rep.Peers, func(a probes.PeerAnswer) bool { return a.Relay == relay && a.Peer.String() == peer })
		if i < 0 {
			t.Fatalf("%s %s not asked", relay, peer)
		}
		return rep.Peers[i]
	}
	w := find(probes.RelayUDP4, udpW.Addr.String())
	if !w.Arrived || w.EchoFrom != udpW.Addr || w.Class != probes.ClassLoopback {
		t.Errorf("the loopback witness: %+v", w)
	}
	zero := find(probes.RelayUDP4, fmt.Sprintf("0.0.0.0:%d", udpW.Addr.Port()))
	if !zero.Arrived || zero.EchoFrom != udpW.Addr || zero.Class != probes.ClassUnspecified {
		t.Errorf("0.0.0.0 on the witness's port: %+v", zero)
	}
	// pion's relay socket sends to ::ffff:127.0.0.1 as to 127.0.0.1.
	mapped := find(probes.RelayUDP4, fmt.Sprintf("[::ffff:127.0.0.1]:%d", udpW.Addr.Port()))
	if !mapped.Arrived || mapped.Class != probes.ClassMapped {
		t.Errorf("::ffff:127.0.0.1 on the witness's port: %+v", mapped)
	}
	if got := seen.at("udp", udpW.Addr.String()); got != 3 {
		t.Errorf("the UDP witness saw %d markers, want 3 (127.0.0.1, ::ffff:127.0.0.1, 0.0.0.0)", got)
	}
	plain := find(probes.RelayUDP4, "10.0.0.1:9")
	if plain.Outcome != probes.PeerGranted || plain.Marker || plain.Arrived {
		t.Errorf("an address without a witness: %+v", plain)
	}
	conn := find(probes.RelayTCP4, tcpW.Addr.String())
	if conn.Outcome != probes.PeerConnected {
		t.Errorf("the TCP witness: %+v", conn)
	}
	deadline := time.Now().Add(2 * time.Second)
	for seen.at("tcp", tcpW.Addr.String()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if seen.at("tcp", tcpW.Addr.String()) == 0 {
		t.Error("the TCP witness saw no connection")
	}
	if rep.Auth.Unauthenticated.Code != 401 || rep.Auth.WrongPassword.Code != 401 {
		t.Errorf("auth: %+v", rep.Auth)
	}
	// Every request and marker is counted, each one datagram over UDP.
	if rep.Sent < int64(len(rep.Peers)) || rep.Sent > 400 {
		t.Errorf("%d messages sent for %d peer answers", rep.Sent, len(rep.Peers))
	}
}

// TestAuditAgainstGuardedServer: the embedded server relays only between
// its own relays; the audit finds every peer refused and no marker sent.
func TestAuditAgainstGuardedServer(t *testing.T) {
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	srv := emb.Servers()[1]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rep := probes.AuditTURN(ctx, probes.Target{Server: srv, Transport: probes.UDP}, probes.AuditConfig{})
	if rep.Err != nil || len(rep.Peers) < 20 {
		t.Fatalf("%v, %d answers", rep.Err, len(rep.Peers))
	}
	for _, a := range rep.Peers {
		if a.Outcome != probes.PeerRefused || a.Marker {
			t.Errorf("%s %s: %s", a.Relay, a.Peer, a.Outcome)
		}
	}
}
