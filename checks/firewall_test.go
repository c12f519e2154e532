package checks

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func evidenceOf(r Result, name string) string {
	for _, e := range r.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func firewallCheck(t *testing.T) *Check {
	t.Helper()
	return MustSelect(Catalog(), "firewall.matrix")[0]
}

// freePort reserves a port on loopback and releases it: nothing listens
// there afterwards, so the kernel answers RST / ICMP port unreachable.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestFirewallMatrixLoopback runs the matrix against real sockets on
// loopback: the embedded server (ok), a UDP socket that never answers
// (dropped), closed ports (refused), and a TLS server whose certificate
// the client does not trust (tls failure).
func TestFirewallMatrixLoopback(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	silentPort := silent.LocalAddr().(*net.UDPAddr).Port

	cert, err := netlab.NewCert(time.Now().Add(24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake() // fails: the client rejects the certificate
			_ = c.Close()
		}
	}()
	tlsPort := tl.Addr().(*net.TCPAddr).Port
	closedTCP, closedUDP := freePort(t, "tcp"), freePort(t, "udp")

	stunSrv := srv.Servers()[0]
	ports, err := config.ParsePorts(strings.Join([]string{
		itoa(silentPort) + "/udp", itoa(closedTCP) + "/tcp", itoa(closedUDP) + "/udp", itoa(tlsPort) + "/tls"}, ","))
	if err != nil {
		t.Fatal(err)
	}
	c := firewallCheck(t)
	p := &Plan{Servers: []probes.Server{stunSrv}, Checks: []*Check{c}, Settings: config.Settings{CheckTimeout: time.Second, FirewallPorts: ports}}
	results := Run(context.Background(), p, nil)
	if len(results) != 1 {
		t.Fatalf("got %d results, want 1", len(results))
	}
	r := results[0]
	want := map[string]string{
		"STUN/UDP " + itoa(srv.Port()): "ok ",
		"STUN/TCP " + itoa(srv.Port()): "ok ",
		"STUN/UDP " + itoa(silentPort): "dropped (no answer",
		"STUN/TCP " + itoa(closedTCP):  "refused (TCP RST)",
		"STUN/UDP " + itoa(closedUDP):  "refused (ICMP port unreachable)",
		"STUN/TLS " + itoa(tlsPort):    "tls failure (",
	}
	for name, prefix := range want {
		if got := evidenceOf(r, name); !strings.HasPrefix(got, prefix) {
			t.Errorf("cell %s = %q, want %q…", name, got, prefix)
		}
	}
	if got := evidenceOf(r, "STUN/TLS "+itoa(tlsPort)); !strings.Contains(got, "certificate") {
		t.Errorf("TLS cell %q does not name the certificate problem", got)
	}
	if r.Status != Warn {
		t.Errorf("status = %s, want warn (UDP open, one port dropped, bad certificate): %s", r.Status, r.Error)
	}
	if v := evidenceOf(r, "verdict"); !strings.HasPrefix(v, "udp-open:") {
		t.Errorf("verdict = %q, want udp-open", v)
	}
	if !strings.Contains(r.Advice, "fix the certificate") {
		t.Errorf("advice %q does not mention the certificate", r.Advice)
	}
	if r.Metrics["cells"] != 6 || r.Metrics["cells_ok"] != 2 || r.Metrics["cells_dropped"] != 1 ||
		r.Metrics["cells_refused"] != 2 || r.Metrics["cells_tls_failed"] != 1 || r.Metrics["udp_open"] != 1 {
		t.Errorf("metrics = %v", r.Metrics)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestFirewallMatrixProxy sends the TCP and TLS cells through a real
// tinyproxy: allowed, they are ok and say so; refused by a proxy that
// only tunnels to 443, the cell is refused by the proxy while UDP, which
// never uses the proxy, stays ok.
func TestFirewallMatrixProxy(t *testing.T) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	port := itoa(srv.Port())
	for _, tt := range []struct {
		name     string
		ports    []int
		tcp, udp string
		advice   string // what the verdict's advice says of the proxy
	}{
		{name: "tunnelled", tcp: "ok ", udp: "ok "},
		{name: "refused by proxy", ports: []int{443}, tcp: "refused (proxy refused CONNECT: 403", udp: "ok ",
			advice: "The HTTP proxy refuses CONNECT to port " + port + " (proxy refused CONNECT: 403"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proxy := netlab.StartTinyproxy(t, tt.ports...)
			p := &Plan{Servers: srv.Servers()[:1], Checks: []*Check{firewallCheck(t)}, Settings: config.Settings{Proxy: proxy}}
			rs := Run(context.Background(), p, nil)
			if got := evidenceOf(rs[0], "STUN/TCP "+port); !strings.HasPrefix(got, tt.tcp) || !strings.HasSuffix(got, "via proxy "+proxy.String()) {
				t.Errorf("TCP cell = %q, want %q… via proxy %s", got, tt.tcp, proxy)
			}
			if got := evidenceOf(rs[0], "STUN/UDP "+port); !strings.HasPrefix(got, tt.udp) || strings.Contains(got, "proxy") {
				t.Errorf("UDP cell = %q, want %q… without proxy", got, tt.udp)
			}
			// The matrix passes on UDP alone, so the result shows no
			// advice; the verdict has it.
			sum, _ := rs[0].Summary.(*MatrixSummary)
			if sum == nil {
				t.Fatalf("result summary %T, want the matrix's", rs[0].Summary)
			}
			if advice := sum.Verdict.Advice; !strings.Contains(advice, tt.advice) || tt.advice == "" && strings.Contains(advice, "HTTP proxy") {
				t.Errorf("verdict advice = %q, want %q", advice, tt.advice)
			}
		})
	}
}

// TestFirewallMatrixBlackhole: an address where a real firewall drops
// everything ends by the deadline with every cell "dropped", not a hang,
// and the verdict tells to open UDP 3478 and TCP 443.
func TestFirewallMatrixBlackhole(t *testing.T) {
	hole := netlab.Blackhole(t)
	s, err := probes.ParseServer("turn:" + hole + ":3478")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := config.ParsePorts("443")
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Servers: []probes.Server{s}, Checks: []*Check{firewallCheck(t)}, Settings: config.Settings{CheckTimeout: 500 * time.Millisecond, FirewallPorts: ports}}
	rs := Run(context.Background(), p, nil)
	r := rs[0]
	// STUN and TURN over UDP and TCP on 3478, over UDP, TCP and TLS on 443.
	if r.Status != Fail || r.Metrics["cells"] != 10 || r.Metrics["cells_dropped"] != 10 {
		t.Fatalf("status %s, metrics %v; want fail with 10 dropped cells", r.Status, r.Metrics)
	}
	if r.Duration > 2*time.Second {
		t.Errorf("took %s with a 500ms deadline", r.Duration)
	}
	if !strings.Contains(r.Advice, "Permit outbound UDP 3478 and TCP 443 to "+hole) {
		t.Errorf("advice = %q", r.Advice)
	}
}

func TestFirewallMatrixNothingToTest(t *testing.T) {
	s, err := probes.ParseServer("turns:127.0.0.1:5349?transport=udp")
	if err != nil {
		t.Fatal(err)
	}
	rs := Run(context.Background(), &Plan{Servers: []probes.Server{s}, Checks: []*Check{firewallCheck(t)}}, nil)
	if rs[0].Status != Skip || !strings.Contains(rs[0].Error, "only DTLS") {
		t.Errorf("DTLS-only server: %s %q, want skip naming DTLS", rs[0].Status, rs[0].Error)
	}
}
