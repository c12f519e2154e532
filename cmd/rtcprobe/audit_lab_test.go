package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// auditLab is a TURN server with a network behind it, every part of it a
// namespace of the test's own:
//
//	client 10.N.1.2 ── 10.N.1.1 coturn (fd7a:N::1) 10.N.2.1 ── 10.N.2.2 inner (169.254.169.254)
//
// Listeners the audit is told about (rtcprobe witness, the built binary):
// a loopback service in coturn's namespace (UDP and TCP 127.0.0.1:7000),
// a service on coturn's own address (UDP 10.N.1.1:7001), a private host
// (UDP and TCP 10.N.2.2:7000) and a metadata-like service (UDP and TCP
// 169.254.169.254:80). Nothing the audit sends leaves these namespaces.
type auditLab struct {
	n              int
	client, server *netlab.NS
	inner          *netlab.NS
	witnesses      []*witnessProc
}

func (l *auditLab) ip(subnet, host int) string { return fmt.Sprintf("10.%d.%d.%d", l.n, subnet, host) }

func (l *auditLab) v6() string { return fmt.Sprintf("fd7a:%x::1", l.n) }

func newAuditLab(t *testing.T) *auditLab {
	t.Helper()
	netlab.Require(t)
	testenv.LookPath(t, "turnserver")
	l := &auditLab{n: 1 + rand.IntN(250)}
	l.client, l.server, l.inner = netlab.NewNS(t, "acli"), netlab.NewNS(t, "asrv"), netlab.NewNS(t, "ainn")
	netlab.Link(t, l.client, "eth0", netlab.CIDR(l.ip(1, 2), 24), l.server, "eth0", netlab.CIDR(l.ip(1, 1), 24))
	netlab.Link(t, l.server, "eth1", netlab.CIDR(l.ip(2, 1), 24), l.inner, "eth0", netlab.CIDR(l.ip(2, 2), 24))
	l.server.Run(t, "ip", "addr", "add", l.v6()+"/64", "dev", "eth0", "nodad")
	l.inner.Run(t, "ip", "addr", "add", "169.254.169.254/32", "dev", "eth0")
	l.inner.Run(t, "ip", "route", "add", "default", "via", l.ip(2, 1))
	l.server.Run(t, "ip", "route", "add", "169.254.169.254/32", "via", l.ip(2, 2))
	// Count what the audit sends to the server.
	l.client.IPTables(t, "-A OUTPUT -d "+l.ip(1, 1))
	l.witnesses = []*witnessProc{
		startWitness(t, l.server, "udp:127.0.0.1:7000,tcp:127.0.0.1:7000,udp:"+l.ip(1, 1)+":7001"),
		startWitness(t, l.inner, "udp:"+l.ip(2, 2)+":7000,tcp:"+l.ip(2, 2)+":7000,udp:169.254.169.254:80,tcp:169.254.169.254:80"),
	}
	return l
}

// witnessArgs name every witness of the lab for the audit.
func (l *auditLab) witnessArgs() string {
	return "udp:127.0.0.1:7000,tcp:127.0.0.1:7000,udp:" + l.ip(1, 1) + ":7001," +
		"udp:" + l.ip(2, 2) + ":7000,tcp:" + l.ip(2, 2) + ":7000,udp:169.254.169.254:80,tcp:169.254.169.254:80"
}

// arrivals are the lines the witnesses printed since the last call.
func (l *auditLab) arrivals() []string {
	var out []string
	for _, w := range l.witnesses {
		out = append(out, w.take()...)
	}
	return out
}

// witnessProc is `rtcprobe witness` running in a namespace.
type witnessProc struct {
	mu    sync.Mutex
	lines []string
}

func startWitness(t *testing.T, ns *netlab.NS, spec string) *witnessProc {
	t.Helper()
	cmd := ns.Command(context.Background(), binary, "witness", spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr netlab.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &witnessProc{}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				ready <- sc.Text()
				first = false
				continue
			}
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
		close(ready)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = cmd.Wait()
	})
	select {
	case line, ok := <-ready:
		if !ok || !strings.HasPrefix(line, "witness listening on ") {
			t.Fatalf("rtcprobe witness %s: %q %s", spec, line, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("rtcprobe witness %s not ready: %s", spec, stderr.String())
	}
	return w
}

func (w *witnessProc) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.lines
	w.lines = nil
	return out
}

// auditRun is what one `rtcprobe audit` in the client namespace gave.
type auditRun struct {
	code    int
	table   string
	rows    map[string]auditRow // by check ID, and a peer row's class
	took    time.Duration
	packets int64 // to the server, as the client namespace's iptables counted them
	dir     string
}

type auditRow struct {
	Status   string
	Advice   string
	Error    string
	Metrics  map[string]float64
	Evidence map[string]string
}

// audit runs the built binary's `rtcprobe audit` in the client namespace
// against the lab's coturn, with every report written.
func (l *auditLab) audit(t *testing.T, ct *coturn.Server, extra ...string) auditRun {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"audit", fmt.Sprintf("turn:%s:%d", l.ip(1, 1), ct.Port), fmt.Sprintf("turns:%s:%d", l.ip(1, 1), ct.TLSPort),
		"--ca", ct.CAFile, "--user", "u", "--password", "p",
		"--witness", l.witnessArgs(), "--internal", fmt.Sprintf("192.168.%d.0/24", l.n),
		"--json", filepath.Join(dir, "audit.json"), "--junit", filepath.Join(dir, "audit.xml"), "--html", filepath.Join(dir, "audit.html"),
		"--no-color"}, extra...)
	l.client.IPTables(t, "-Z OUTPUT")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := l.client.Command(ctx, binary, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	out, err := cmd.Output()
	run := auditRun{table: string(out), took: time.Since(began), dir: dir, rows: map[string]auditRow{}}
	if ee, ok := err.(*exec.ExitError); ok {
		run.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rtcprobe audit: %v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "audit.json"))
	if err != nil {
		t.Fatalf("no JSON report: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	var rep struct {
		Checks []struct {
			ID       string             `json:"id"`
			Target   string             `json:"target"`
			Status   string             `json:"status"`
			Error    string             `json:"error"`
			Advice   string             `json:"advice"`
			Metrics  map[string]float64 `json:"metrics"`
			Evidence []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"evidence"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		key := c.ID
		if _, class, ok := strings.Cut(c.Target, " → "); ok {
			key += " " + class
		}
		row := auditRow{Status: c.Status, Advice: c.Advice, Error: c.Error, Metrics: c.Metrics, Evidence: map[string]string{}}
		for _, e := range c.Evidence {
			row.Evidence[e.Name] = e.Value
		}
		run.rows[key] = row
	}
	counters := l.client.Run(t, "iptables", "-w", "-L", "OUTPUT", "-v", "-x", "-n")
	for _, line := range strings.Split(counters, "\n") {
		f := strings.Fields(line)
		if len(f) > 7 && f[7] == l.ip(1, 1) {
			run.packets, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return run
}

// hardenedArgs are coturn's production settings as its documentation
// and the advisories recommend: no allow-loopback-peers (coturn refuses
// loopback peers without it), every special-purpose range denied, IPv4
// in IPv6 too (CVE-2026-27624, before 4.9.0), no multicast peers, no
// CLI, no TLS 1.0/1.1, no SOFTWARE attribute.
var hardenedArgs = func() []string {
	args := []string{"--no-multicast-peers", "--no-tlsv1", "--no-tlsv1_1"}
	for _, r := range []string{
		"0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255", "127.0.0.0-127.255.255.255",
		"169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255", "192.0.0.0-192.0.0.255", "192.0.2.0-192.0.2.255",
		"192.88.99.0-192.88.99.255", "192.168.0.0-192.168.255.255", "198.18.0.0-198.19.255.255", "198.51.100.0-198.51.100.255",
		"203.0.113.0-203.0.113.255", "240.0.0.0-255.255.255.255",
		"::1", "::", "::ffff:0.0.0.0-::ffff:255.255.255.255", "64:ff9b::-64:ff9b::ffff:ffff",
		"fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		args = append(args, "--denied-peer-ip="+r)
	}
	return args
}()

// TestAuditPermissiveCoturn: against coturn with allow-loopback-peers,
// its CLI on and no denied-peer-ip, `rtcprobe audit` fails the loopback,
// private, metadata and own-address classes, each proven by arrival at a
// witness (and each witness saw it arrive), tries 0.0.0.0, [::] and
// ::ffff:127.0.0.1, connects through a TCP relay to coturn's CLI, and
// writes every row to the JSON, JUnit and HTML reports.
func TestAuditPermissiveCoturn(t *testing.T) {
	l := newAuditLab(t)
	ct := coturn.Start(t, coturn.Config{NS: l.server, ListenIPs: []string{l.ip(1, 1), l.v6()}, User: "u", Password: "p",
		CLIPassword: "cli-secret", Software: true, TLS: true, CertHosts: []string{l.ip(1, 1)},
		// OpenSSL's security level 0 lets TLS 1.0 and 1.1 and old suites back in.
		Args: []string{"--cipher-list=ALL:@SECLEVEL=0"}})
	run := l.audit(t, ct)
	t.Logf("permissive coturn: exit %d in %s, %d packets to the server\n%s", run.code, run.took.Round(time.Millisecond), run.packets, run.table)
	arrived := strings.Join(l.arrivals(), "\n")
	t.Logf("witnesses saw:\n%s", arrived)
	if run.code != exitFail {
		t.Errorf("exit code %d, want %d", run.code, exitFail)
	}
	for _, tc := range []struct {
		row, status string
		evidence    string // a substring of some evidence value
		witness     string // a substring of a witness line: the arrival seen there
	}{
		{"audit.udp loopback", "fail", "came back from 127.0.0.1:7000", "udp 127.0.0.1:7000 from"},
		{"audit.udp private", "fail", "came back from " + l.ip(2, 2) + ":7000", "udp " + l.ip(2, 2) + ":7000 from"},
		{"audit.udp metadata", "fail", "came back from 169.254.169.254:80", "udp 169.254.169.254:80 from"},
		{"audit.udp own", "fail", "came back from " + l.ip(1, 1) + ":7001", "udp " + l.ip(1, 1) + ":7001 from"},
		{"audit.tcp loopback", "fail", "Connect to 127.0.0.1:5766 succeeded", "tcp 127.0.0.1:7000 from"},
		{"audit.tcp metadata", "fail", "Connect to 169.254.169.254:80 succeeded", "tcp 169.254.169.254:80 from"},
		{"audit.tcp private", "fail", "Connect to " + l.ip(2, 2) + ":7000 succeeded", "tcp " + l.ip(2, 2) + ":7000 from"},
		{"audit.tcp own", "fail", "succeeded", ""},
		{"audit.udp internal", "fail", "permission granted (the server's answer only", ""},
		{"audit.udp ipv4-in-ipv6", "fail", "permission granted", ""},
		{"audit.software", "warn", "Coturn-4.6.1", ""},
		{"audit.tls", "warn", "accepted", ""},
		{"audit.auth", "pass", "refused (401", ""},
		{"audit.summary", "fail", "F: ", ""},
	} {
		row, ok := run.rows[tc.row]
		if !ok {
			t.Errorf("no row %s", tc.row)
			continue
		}
		if row.Status != tc.status {
			t.Errorf("%s: %s, want %s (%s → %s)", tc.row, row.Status, tc.status, row.Error, row.Advice)
		}
		if !anyValue(row.Evidence, tc.evidence) {
			t.Errorf("%s: no evidence with %q: %v", tc.row, tc.evidence, row.Evidence)
		}
		if tc.witness != "" && !strings.Contains(arrived, tc.witness) {
			t.Errorf("%s: the witness saw no %q", tc.row, tc.witness)
		}
	}
	// The unusual forms are asked, whatever the server answers.
	for _, form := range []string{"UDP/IPv4 relay → 0.0.0.0", "UDP/IPv6 relay → ::", "UDP/IPv6 relay → ::ffff:127.0.0.1", "TCP relay → 0.0.0.0:5766"} {
		found := false
		for _, row := range run.rows {
			if _, found = row.Evidence[form]; found {
				break
			}
		}
		if !found {
			t.Errorf("%s was not asked", form)
		}
	}
	// ::ffff:127.0.0.1 goes as a 16-byte IPv6 address: coturn 4.6.1
	// grants it on the IPv6 relay (CVE-2026-27624) and refuses the family
	// on the IPv4 one.
	mapped := run.rows["audit.udp ipv4-in-ipv6"].Evidence
	if v6 := mapped["UDP/IPv6 relay → ::ffff:127.0.0.1"]; !strings.HasPrefix(v6, "permission granted") {
		t.Errorf("::ffff:127.0.0.1 on the IPv6 relay: %q", v6)
	}
	if v4 := mapped["UDP/IPv4 relay → ::ffff:127.0.0.1"]; !strings.Contains(v4, "443") {
		t.Errorf("::ffff:127.0.0.1 on the IPv4 relay: %q", v4)
	}
	if !strings.Contains(run.rows["audit.udp loopback"].Advice, "allow-loopback-peers") {
		t.Errorf("loopback advice names no coturn fix: %s", run.rows["audit.udp loopback"].Advice)
	}
	for _, f := range []string{"audit.xml", "audit.html"} {
		b, err := os.ReadFile(filepath.Join(run.dir, f))
		if err != nil || !strings.Contains(string(b), "audit.udp") || !strings.Contains(string(b), "audit.summary") {
			t.Errorf("%s lacks the audit rows: %v", f, err)
		}
	}
}

// TestAuditHardenedCoturn: against coturn configured as recommended for
// production, every row of `rtcprobe audit` passes, the unusual forms
// included, and no witness sees anything arrive.
func TestAuditHardenedCoturn(t *testing.T) {
	l := newAuditLab(t)
	ct := coturn.Start(t, coturn.Config{NS: l.server, ListenIPs: []string{l.ip(1, 1), l.v6()}, User: "u", Password: "p",
		DenyLoopbackPeers: true, Args: hardenedArgs, TLS: true, CertHosts: []string{l.ip(1, 1)}})
	run := l.audit(t, ct)
	t.Logf("hardened coturn: exit %d in %s, %d packets to the server\n%s", run.code, run.took.Round(time.Millisecond), run.packets, run.table)
	if run.code != exitOK {
		t.Errorf("exit code %d, want %d", run.code, exitOK)
	}
	if len(run.rows) < 20 {
		t.Errorf("only %d rows", len(run.rows))
	}
	for name, row := range run.rows {
		if row.Status != "pass" {
			t.Errorf("%s: %s (%s → %s)", name, row.Status, row.Error, row.Advice)
		}
	}
	if got := l.arrivals(); len(got) > 0 {
		t.Errorf("the witnesses saw arrivals through a hardened server:\n%s", strings.Join(got, "\n"))
	}
}

func anyValue(m map[string]string, sub string) bool {
	for _, v := range m {
		if strings.Contains(v, sub) {
			return true
		}
	}
	return false
}
