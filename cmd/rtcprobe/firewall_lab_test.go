package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// Environment of the lab's child processes.
const (
	labRole = "RTCPROBE_LAB_ROLE" // "server" or "client"
	labArgs = "RTCPROBE_LAB_ARGS" // client: rtcprobe arguments, \x1f-separated
	labAddr = "RTCPROBE_LAB_ADDR" // server: the address to listen on
	labAlt  = "RTCPROBE_LAB_ALT"  // server: second address, for RFC 5780
	labCert = "RTCPROBE_LAB_CERT" // server: PEM chain
	labKey  = "RTCPROBE_LAB_KEY"  // server: PEM key
)

// TestLabProcess is the entry point of the lab's child processes, which
// are this test binary run inside a namespace with -test.run pointing
// here. Run normally it does nothing.
func TestLabProcess(t *testing.T) {
	switch os.Getenv(labRole) {
	case "server":
		if err := labServer(); err != nil {
			fmt.Fprintln(os.Stderr, "lab server:", err)
			os.Exit(3)
		}
		os.Exit(0)
	case "client":
		os.Exit(run(context.Background(), strings.Split(os.Getenv(labArgs), "\x1f"), os.Stdout, os.Stderr))
	}
}

// labServer is a TURN server as deployed: UDP and TCP on 3478, TLS on
// 443, plus an RFC 5780 responder on both of its addresses and a wss://
// signaling server (WebSocket echo) on 8443. It prints
// "ready PORT" (the responder's primary port) once listening and stops
// when stdin closes.
func labServer() error {
	addr := os.Getenv(labAddr)
	cert, err := tls.LoadX509KeyPair(os.Getenv(labCert), os.Getenv(labKey))
	if err != nil {
		return err
	}
	udp, err := net.ListenPacket("udp", net.JoinHostPort(addr, "3478"))
	if err != nil {
		return err
	}
	tcp, err := net.Listen("tcp", net.JoinHostPort(addr, "3478"))
	if err != nil {
		return err
	}
	tl, err := tls.Listen("tcp", net.JoinHostPort(addr, "443"), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	relay := &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(addr), Address: addr}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	key := turn.GenerateAuthKey("lab", "lab.test", "lab-password")
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         "lab.test",
		LoggerFactory: logs,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == "lab"
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: relay}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: relay}, {Listener: tl, RelayAddressGenerator: relay}},
	})
	if err != nil {
		return err
	}
	nat, err := iceserver.StartNATResponder(nil, addr, os.Getenv(labAlt))
	if err != nil {
		_ = srv.Close()
		return err
	}
	wsl, err := tls.Listen("tcp", net.JoinHostPort(addr, "8443"), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return errors.Join(err, srv.Close(), nat.Close())
	}
	ws := &http.Server{
		Handler:           websocket.Server{Handler: func(c *websocket.Conn) { _, _ = io.Copy(c, c) }},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = ws.Serve(wsl) }()
	fmt.Println("ready", nat.Addr().Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return errors.Join(srv.Close(), nat.Close(), ws.Close())
}

// labReport is the part of the JSON report the lab looks at: the checks
// of a run, and of each iteration of a repeated one.
type labReport struct {
	labChecks
	Repeat *struct {
		Iterations []labChecks `json:"iterations"`
	} `json:"repeat"`
}

type labChecks struct {
	Checks []struct {
		ID      string             `json:"id"`
		Target  string             `json:"target"`
		Status  string             `json:"status"`
		Advice  string             `json:"advice"`
		Metrics map[string]float64 `json:"metrics"`
		// DurationMS is the check's own time (a wait for another check's
		// quota lease left out); StartedMS and EndedMS are since the run
		// began.
		DurationMS float64 `json:"duration_ms"`
		StartedMS  float64 `json:"started_ms"`
		EndedMS    float64 `json:"ended_ms"`
		Evidence   []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"evidence"`
	} `json:"checks"`
}

// evidence is the first value named name in any result of checkID.
func (r labChecks) evidence(checkID, name string) string {
	for _, c := range r.Checks {
		if c.ID != checkID {
			continue
		}
		for _, e := range c.Evidence {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

func (r labReport) advice(checkID string) string {
	for _, c := range r.Checks {
		if c.ID == checkID {
			return c.Advice
		}
	}
	return ""
}

// TestFirewallLab runs rtcprobe in a client namespace behind a NAT router
// (iptables MASQUERADE) against a TURN server in a server namespace whose
// iptables rules change per case, and checks the matrix cells and the
// advice against what each rule does.
//
//	client 10.N.1.2 ── 10.N.1.1 router 10.N.2.1 (MASQUERADE) ── 10.N.2.2 server
func TestFirewallLab(t *testing.T) {
	t.Parallel() // waits on its own servers: beside the others of its kind, after the timed tests
	netlab.Require(t)
	n := 1 + rand.IntN(250)
	ip := func(subnet, host int) string { return fmt.Sprintf("10.%d.%d.%d", n, subnet, host) }
	client, router, server := netlab.NewNS(t, "cli"), netlab.NewNS(t, "rtr"), netlab.NewNS(t, "srv")
	netlab.Link(t, client, "eth0", netlab.CIDR(ip(1, 2), 24), router, "in0", netlab.CIDR(ip(1, 1), 24))
	netlab.Link(t, router, "out0", netlab.CIDR(ip(2, 1), 24), server, "eth0", netlab.CIDR(ip(2, 2), 24))
	server.Run(t, "ip", "addr", "add", netlab.CIDR(ip(2, 3), 24), "dev", "eth0")
	client.Run(t, "ip", "route", "add", "default", "via", ip(1, 1))
	router.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	// Each case tests one kind of ICMP answer, so neither host rate-limits
	// them (the default, one a second after a burst of 6, made a case's
	// own error go missing when the checks before it had spent the burst);
	// rate limiting has a case of its own below.
	for _, ns := range []*netlab.NS{router, server} {
		ns.Run(t, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
	}
	// The server has no route back to the client's subnet: replies only
	// arrive because the router rewrites the source.
	router.IPTables(t, "-t nat -A POSTROUTING -o out0 -j MASQUERADE")

	cert, err := netlab.NewCert(time.Now().Add(30*24*time.Hour), ip(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err := cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	srvCmd := server.Command(ctx, self, "-test.run=^TestLabProcess$")
	srvCmd.Env = netlab.Env(labRole+"=server", labAddr+"="+ip(2, 2), labAlt+"="+ip(2, 3), labCert+"="+certFile, labKey+"="+keyFile)
	natPort := strings.TrimPrefix(netlab.StartProcess(t, srvCmd, 60*time.Second).Ready, "ready ")

	probe := func(t *testing.T, env []string, args ...string) (labReport, int) {
		t.Helper()
		// 3s, not the default 2s: a TLS handshake with a race-instrumented
		// server on a loaded machine can take most of 2s. Given first, so
		// the case's own flags win.
		var head []string
		if len(args) > 0 && args[0] == "firewall" {
			head, args = []string{"firewall"}, args[1:]
		}
		args = append(append(head, "--check-timeout", "4s", "--json", "-"), args...)
		cmd := client.Command(ctx, self, "-test.run=^TestLabProcess$")
		// SSL_CERT_FILE makes the lab CA the client's system root.
		cmd.Env = netlab.Env(append(env, labRole+"=client", labArgs+"="+strings.Join(args, "\x1f"), "SSL_CERT_FILE="+caFile)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, _ := cmd.Output()
		var rep labReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("rtcprobe in the client namespace: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
		}
		return rep, cmd.ProcessState.ExitCode()
	}

	tests := []struct {
		name  string
		rules []string
		// router are rules in the router's FORWARD chain: a firewall on
		// the path rather than on the server's host.
		router   []string
		cells    map[string]string // evidence name → value prefix
		verdict  string
		advice   []string
		exitCode int
		// stunAdvice are words stun.udp's own advice must carry.
		stunAdvice []string
	}{
		{
			name:     "no firewall",
			cells:    map[string]string{"STUN/UDP 3478": "ok", "STUN/TCP 3478": "ok", "STUN/TLS 443": "ok"},
			verdict:  "all-open",
			exitCode: exitOK,
		},
		{
			name:     "server drops UDP",
			rules:    []string{"-A INPUT -i eth0 -p udp -j DROP"},
			cells:    map[string]string{"STUN/UDP 3478": "dropped (no answer", "STUN/TCP 3478": "ok", "STUN/TLS 443": "ok"},
			verdict:  "udp-blocked: UDP to " + ip(2, 2) + ":3478 is silently dropped",
			advice:   []string{"Use TURN over TCP/TLS", "permit outbound UDP to " + ip(2, 2) + ":3478"},
			exitCode: exitFail, // stun.udp has no answer at all
		},
		{
			name:     "server rejects UDP with ICMP",
			rules:    []string{"-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-port-unreachable"},
			cells:    map[string]string{"STUN/UDP 3478": "refused (ICMP port unreachable)", "STUN/TCP 3478": "ok", "STUN/TLS 443": "ok"},
			verdict:  "udp-blocked: UDP to " + ip(2, 2) + ":3478 is refused by the host",
			advice:   []string{"REJECT rule on that host", "No firewall on the path", "TURN over TCP/TLS on 3478,443"},
			exitCode: exitFail,
		},
		{
			name:       "server rejects UDP: icmp-admin-prohibited",
			rules:      []string{"-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-admin-prohibited"},
			cells:      map[string]string{"STUN/UDP 3478": "rejected (ICMP communication administratively prohibited from " + ip(2, 2), "STUN/TCP 3478": "ok"},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is rejected by a firewall",
			advice:     []string{"The server host's own firewall rejects UDP to " + ip(2, 2) + ":3478"},
			exitCode:   exitFail,
			stunAdvice: []string{"packet filter on the server's host"},
		},
		{
			name:       "server rejects UDP: icmp-host-prohibited",
			rules:      []string{"-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-host-prohibited"},
			cells:      map[string]string{"STUN/UDP 3478": "rejected (ICMP host administratively prohibited from " + ip(2, 2), "STUN/TCP 3478": "ok"},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is rejected by a firewall",
			exitCode:   exitFail,
			stunAdvice: []string{"packet filter on the server's host"},
		},
		{
			name:       "server rejects UDP: icmp-net-unreachable",
			rules:      []string{"-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-net-unreachable"},
			cells:      map[string]string{"STUN/UDP 3478": "unreachable (ICMP net unreachable from " + ip(2, 2), "STUN/TCP 3478": "ok"},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is unreachable",
			advice:     []string{"Cannot tell from here"},
			exitCode:   exitFail,
			stunAdvice: []string{"Cannot tell from here", "imitates that"},
		},
		{
			name:       "router rejects UDP (port unreachable in its own name)",
			router:     []string{"-A FORWARD -p udp -j REJECT"},
			cells:      map[string]string{"STUN/UDP 3478": "rejected (ICMP port unreachable from " + ip(1, 1), "STUN/TCP 3478": "ok"},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is rejected by a firewall",
			advice:     []string{"The firewall at " + ip(1, 1) + " rejects UDP"},
			exitCode:   exitFail,
			stunAdvice: []string{ip(1, 1) + ", on the path to " + ip(2, 2)},
		},
		{
			name:       "router rejects UDP: icmp-admin-prohibited",
			router:     []string{"-A FORWARD -p udp -j REJECT --reject-with icmp-admin-prohibited"},
			cells:      map[string]string{"STUN/UDP 3478": "rejected (ICMP communication administratively prohibited from " + ip(1, 1)},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is rejected by a firewall",
			advice:     []string{"The firewall at " + ip(1, 1)},
			exitCode:   exitFail,
			stunAdvice: []string{ip(1, 1) + " refused UDP"},
		},
		{
			name:       "server rejects UDP, ICMP dropped on the way back",
			rules:      []string{"-A INPUT -i eth0 -p udp -j REJECT"},
			router:     []string{"-A FORWARD -p icmp -j DROP"},
			cells:      map[string]string{"STUN/UDP 3478": "dropped (no answer", "STUN/TCP 3478": "ok"},
			verdict:    "udp-blocked: UDP to " + ip(2, 2) + ":3478 is silently dropped",
			exitCode:   exitFail,
			stunAdvice: []string{"Cannot tell from here", "ICMP error is dropped on its way back"},
		},
		{
			name:     "server resets TCP 3478",
			rules:    []string{"-A INPUT -i eth0 -p tcp --dport 3478 -j REJECT --reject-with tcp-reset"},
			cells:    map[string]string{"STUN/UDP 3478": "ok", "STUN/TCP 3478": "refused (TCP RST)", "STUN/TLS 443": "ok"},
			verdict:  "udp-open",
			exitCode: exitOK,
		},
		{
			name:     "server allows only TCP 443",
			rules:    []string{"-A INPUT -i eth0 -p tcp --dport 443 -j ACCEPT", "-A INPUT -i eth0 -j DROP"},
			cells:    map[string]string{"STUN/UDP 3478": "dropped", "STUN/TCP 3478": "dropped", "STUN/TLS 443": "ok"},
			verdict:  "tls-443-only: UDP to " + ip(2, 2) + ":3478 is silently dropped",
			advice:   []string{"Use TURN over TLS", "turn(s): URIs on 443"},
			exitCode: exitFail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server.IPTables(t, "-F INPUT")
			router.IPTables(t, "-F FORWARD")
			for _, r := range tt.rules {
				server.IPTables(t, r)
			}
			for _, r := range tt.router {
				router.IPTables(t, r)
			}
			t.Cleanup(func() { router.IPTables(t, "-F FORWARD") })
			rep, code := probe(t, nil, "firewall", "--checks", "firewall,stun.udp", "--ports", "443/tls", "--user", "lab", "--password", "lab-password",
				"stun:"+ip(2, 2)+":3478", "turn:"+ip(2, 2)+":3478")
			for name, want := range tt.cells {
				// A TURN Allocate meets the same rule as a Binding request.
				for _, cell := range []string{name, strings.Replace(name, "STUN/", "TURN/", 1)} {
					if got := rep.evidence("firewall.matrix", cell); !strings.HasPrefix(got, want) {
						t.Errorf("cell %s = %q, want %q…", cell, got, want)
					}
				}
			}
			if got := rep.evidence("firewall.matrix", "verdict"); !strings.HasPrefix(got, tt.verdict) {
				t.Errorf("verdict = %q, want %q…", got, tt.verdict)
			}
			for _, a := range tt.advice {
				if got := rep.advice("firewall.matrix"); !strings.Contains(got, a) {
					t.Errorf("advice %q lacks %q", got, a)
				}
			}
			if code != tt.exitCode {
				t.Errorf("exit code %d, want %d", code, tt.exitCode)
			}
			for _, a := range tt.stunAdvice {
				if got := rep.advice("stun.udp"); !strings.Contains(got, a) {
					t.Errorf("stun.udp advice %q lacks %q", got, a)
				}
			}
			if tt.name == "no firewall" {
				// MASQUERADE: the server sees the router's address.
				if got := rep.evidence("stun.udp", "mapped_address"); !strings.HasPrefix(got, ip(2, 1)+":") {
					t.Errorf("mapped address %q, want the router's %s", got, ip(2, 1))
				}
			}
		})
	}

	// Hosts rate-limit ICMP port unreachable (a burst of 6, then one a
	// second): run after run against a host that rejects UDP, some probes
	// get no ICMP. The verdict must not flip to "dropped".
	t.Run("ICMP rate limiting, 10 runs", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		server.IPTables(t, "-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-port-unreachable")
		// One ICMP error every 2 s after the burst, as a busy host would
		// leave this client.
		server.Run(t, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=2000")
		t.Cleanup(func() {
			server.IPTables(t, "-F INPUT")
			server.Run(t, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
		})
		// One process, ten iterations back to back (--repeat): the first
		// spends the burst, the others meet the limit.
		rep, _ := probe(t, nil, "firewall", "--repeat", "10", "--checks", "firewall,stun.udp,turn.udp", "--ports", "443/tls", "--user", "lab", "--password", "lab-password",
			"stun:"+ip(2, 2)+":3478", "turn:"+ip(2, 2)+":3478")
		if rep.Repeat == nil || len(rep.Repeat.Iterations) != 10 {
			t.Fatalf("want 10 iterations, got %+v", rep.Repeat)
		}
		verdicts := map[string]int{}
		for i, it := range rep.Repeat.Iterations {
			v := it.evidence("firewall.matrix", "verdict")
			verdicts[v]++
			for _, cell := range []string{"STUN/UDP 3478", "TURN/UDP 3478"} {
				if got := it.evidence("firewall.matrix", cell); !strings.HasPrefix(got, "refused") {
					t.Errorf("iteration %d: cell %s = %q, want refused", i+1, cell, got)
				}
			}
		}
		if len(verdicts) != 1 {
			t.Errorf("the verdict changed between iterations: %v", verdicts)
		}
	})

	// TURN over UDP meets the same rule: the ICMP error keeps its type
	// through the TURN client (it read once as "not valid STUN").
	t.Run("turn.udp against icmp-admin-prohibited", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		server.IPTables(t, "-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-admin-prohibited")
		t.Cleanup(func() { server.IPTables(t, "-F INPUT") })
		rep, code := probe(t, nil, "--checks", "turn.udp", "--user", "lab", "--password", "lab-password", "turn:"+ip(2, 2)+":3478")
		got := rep.advice("turn.udp")
		if code != exitFail || !strings.Contains(got, "packet filter on the server's host") || strings.Contains(got, "STUN") {
			t.Errorf("exit %d, advice %q", code, got)
		}
	})

	// Back-to-back processes share nothing, so the in-process memory of
	// refusals does not help: the one before spent the host's ICMP budget,
	// and this run's probes of the port hear nothing. The follow-up after
	// a pause must find the refusal, run after run.
	t.Run("ICMP rate limiting, 4 processes back to back", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		server.IPTables(t, "-A INPUT -i eth0 -p udp -j REJECT --reject-with icmp-port-unreachable")
		t.Cleanup(func() { server.IPTables(t, "-F INPUT") })
		for i := range 4 {
			rep, _ := probe(t, nil, "firewall", "--checks", "firewall", "--ports", "443/tls", "--user", "lab", "--password", "lab-password",
				"stun:"+ip(2, 2)+":3478", "turn:"+ip(2, 2)+":3478")
			if got := rep.evidence("firewall.matrix", "verdict"); !strings.HasPrefix(got, "udp-blocked: UDP to "+ip(2, 2)+":3478 is refused by the host") {
				t.Errorf("run %d: verdict %q, want refused by the host", i+1, got)
			}
			if got := rep.advice("firewall.matrix"); strings.Contains(got, "permit outbound UDP") {
				t.Errorf("run %d: advice blames the path: %q", i+1, got)
			}
		}
	})

	// A wrong password still proves the path open: the server answered
	// (pion and coturn both say 401).
	t.Run("wrong TURN password", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		rep, _ := probe(t, nil, "firewall", "--checks", "firewall", "--ports", "443/tls", "--user", "lab", "--password", "wrong",
			"turn:"+ip(2, 2)+":3478")
		for _, cell := range []string{"TURN/UDP 3478", "TURN/TCP 3478", "TURN/TLS 443"} {
			if got := rep.evidence("firewall.matrix", cell); !strings.HasPrefix(got, "auth failure") && !strings.HasPrefix(got, "answered (error 4") {
				t.Errorf("cell %s = %q, want the server's error answer", cell, got)
			}
		}
		if got := rep.evidence("firewall.matrix", "verdict"); !strings.HasPrefix(got, "all-open") {
			t.Errorf("verdict = %q, want all-open (every path answered)", got)
		}
	})

	// Random loss from a real kernel rule: half the Binding requests die,
	// so loss is measured strictly between none and all (each outcome
	// has odds of 0.1% with 10 requests).
	t.Run("random UDP loss", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		server.IPTables(t, "-A INPUT -i eth0 -p udp -m statistic --mode random --probability 0.5 -j DROP")
		t.Cleanup(func() { server.IPTables(t, "-F INPUT") })
		rep, _ := probe(t, nil, "--checks", "stun.udp", "--count", "10", "--check-timeout", "10s", "stun:"+ip(2, 2)+":3478")
		for _, c := range rep.Checks {
			if loss := c.Metrics["loss_pct"]; c.ID == "stun.udp" && (loss <= 0 || loss >= 100 || c.Status == "pass") {
				t.Errorf("stun.udp with 50%% random loss: %s, loss_pct %v", c.Status, loss)
			}
		}
		if len(rep.Checks) != 1 {
			t.Errorf("%d results, want stun.udp only", len(rep.Checks))
		}
	})

	// Linux MASQUERADE keeps one mapping per source port whatever the
	// destination, and conntrack lets in only replies from the exact
	// address and port contacted.
	t.Run("NAT behaviour through MASQUERADE", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		rep, _ := probe(t, nil, "--checks", "nat.behavior", "stun:"+ip(2, 2)+":"+natPort)
		if got := rep.evidence("nat.behavior", "mapping"); got != "endpoint-independent" {
			t.Errorf("mapping = %q, want endpoint-independent", got)
		}
		if got := rep.evidence("nat.behavior", "filtering"); got != "address-and-port-dependent" {
			t.Errorf("filtering = %q, want address-and-port-dependent", got)
		}
		if got := rep.evidence("nat.behavior", "mapped_address"); !strings.HasPrefix(got, ip(2, 1)+":") {
			t.Errorf("mapped address %q, want the router's %s", got, ip(2, 1))
		}
		if got := rep.evidence("nat.behavior", "meaning"); !strings.Contains(got, "Cone NAT") {
			t.Errorf("meaning = %q", got)
		}
	})

	// A corporate network: the router forwards nothing from the client,
	// whose only way out is tinyproxy on the router, named by HTTPS_PROXY.
	// TCP and TLS to the TURN server and the wss:// signaling go through
	// it; UDP has no way out.
	t.Run("only an HTTP proxy gets out", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		router.IPTables(t, "-A FORWARD -s "+ip(1, 0)+"/24 -j DROP")
		t.Cleanup(func() { router.IPTables(t, "-F FORWARD") })
		proxy := router.StartTinyproxy(t, ip(1, 1), 8888, ip(1, 0)+"/24")
		rep, _ := probe(t, []string{"HTTPS_PROXY=" + proxy.String()}, "firewall", "--checks", "firewall,signaling",
			"--ports", "443/tls", "--user", "lab", "--password", "lab-password",
			"--signaling", "wss://"+ip(2, 2)+":8443/ws?token=lab-secret", "turn:"+ip(2, 2)+":3478")
		via := " via proxy " + proxy.String()
		for name, want := range map[string]string{"STUN/UDP 3478": "dropped", "STUN/TCP 3478": "ok", "STUN/TLS 443": "ok",
			"TURN/UDP 3478": "dropped", "TURN/TCP 3478": "ok", "TURN/TLS 443": "ok"} {
			got := rep.evidence("firewall.matrix", name)
			if !strings.HasPrefix(got, want) || (want == "ok") != strings.HasSuffix(got, via) {
				t.Errorf("cell %s = %q, want %q… (TCP/TLS%s)", name, got, want, via)
			}
		}
		if got := rep.evidence("firewall.matrix", "verdict"); !strings.Contains(got, "only via TURN over TCP/TLS") {
			t.Errorf("verdict = %q", got)
		}
		if got := rep.evidence("signaling.websocket", "proxy"); got != "via "+proxy.String()+" (from HTTPS_PROXY)" {
			t.Errorf("signaling proxy evidence = %q", got)
		}
		for _, c := range rep.Checks {
			if c.ID == "signaling.websocket" && (c.Status != "pass" || c.Metrics["proxy_used"] != 1 || c.Metrics["ping_rtt_ms"] <= 0 ||
				strings.Contains(c.Target, "lab-secret")) {
				t.Errorf("signaling.websocket: %s %q %v", c.Status, c.Target, c.Metrics)
			}
		}
	})

	// The TURN checks of one credential take turns on the user's
	// allocation quota, but only for what the server counts: an
	// authenticated Allocate. A check waiting on a server that never
	// answers over UDP has allocated nothing, so the checks over TCP and
	// TLS start and finish while it waits. The built binary, as typed.
	t.Run("server drops UDP: TURN checks over TCP and TLS do not wait for UDP", func(t *testing.T) {
		server.IPTables(t, "-F INPUT")
		server.IPTables(t, "-A INPUT -i eth0 -p udp -j DROP")
		t.Cleanup(func() { server.IPTables(t, "-F INPUT") })
		args := []string{"firewall", "--json", "-", "--user", "lab", "--password", "lab-password",
			"turn:" + ip(2, 2) + ":3478", "turns:" + ip(2, 2) + ":443"}
		cmd := client.Command(ctx, binary, args...)
		cmd.Env = netlab.Env("SSL_CERT_FILE=" + caFile)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		began := time.Now()
		out, _ := cmd.Output()
		t.Logf("rtcprobe %s: %s", strings.Join(args, " "), time.Since(began).Round(10*time.Millisecond))
		var rep labReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("rtcprobe in the client namespace: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
		}
		byID := map[string]int{}
		for i, c := range rep.Checks {
			t.Logf("%-16s %-5s %6.0f–%6.0f ms", c.ID, c.Status, c.StartedMS, c.EndedMS)
			byID[c.ID] = i
		}
		for _, id := range []string{"turn.udp", "turn.tcp", "turn.tls", "firewall.matrix"} {
			if _, ok := byID[id]; !ok {
				t.Fatalf("no %s result", id)
			}
		}
		udp := rep.Checks[byID["turn.udp"]]
		if udp.Status == "pass" {
			t.Fatalf("turn.udp passed with the server's UDP dropped")
		}
		for _, id := range []string{"turn.tcp", "turn.tls"} {
			c := rep.Checks[byID[id]]
			if c.Status != "pass" {
				t.Errorf("%s %s, want pass", id, c.Status)
			}
			if c.StartedMS >= udp.EndedMS {
				t.Errorf("%s started at %.0f ms, after turn.udp ended (%.0f ms): it waited for a check that allocated nothing", id, c.StartedMS, udp.EndedMS)
			}
			// This server has no IPv6 relay address: it answers the
			// IPv6-relay Allocate with 508. That is no room rtcprobe's own
			// released (IPv4) relays hold, so it is not waited out (that
			// wait was 5 s a check; the checks take well under one here).
			// Their own time: a wait for the matrix's lease is not theirs.
			if c.DurationMS > 4000 {
				t.Errorf("%s took %.0f ms of its own: it waited out the 508 to its IPv6-relay Allocate as if its own released relays held the room", id, c.DurationMS)
			}
		}
	})
}
