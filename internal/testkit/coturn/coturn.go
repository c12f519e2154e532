// Package coturn runs the real coturn TURN server (Debian package coturn,
// binary turnserver) on loopback for tests: each server on its own free
// ports, with its own database and pid file, killed by PID when the test
// ends. Without turnserver the test skips, or fails in CI.
package coturn

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// Config chooses how coturn authenticates and what it serves.
type Config struct {
	// User and Password are a static long-term credential (--user).
	User, Password string
	// Realm defaults to "rtcprobe.test".
	Realm string
	// AuthSecret switches to TURN REST credentials (--use-auth-secret).
	AuthSecret string
	// TLS serves TURN over TLS and DTLS with a certificate made for the
	// test, on TLSPort.
	TLS bool
	// IPv6 also listens and relays on ::1.
	IPv6 bool
	// DenyLoopbackPeers leaves out --allow-loopback-peers, so coturn
	// refuses to relay to 127.0.0.1 (403).
	DenyLoopbackPeers bool
	// UserQuota limits concurrent allocations per user (--user-quota).
	UserQuota int
	// CertHosts are the names and addresses the TLS certificate is made
	// for; empty means 127.0.0.1, ::1 and localhost.
	CertHosts []string
	// ListenIPs replaces 127.0.0.1 as the listening and relay address
	// ("::1" alone: a server on IPv6 loopback only).
	ListenIPs []string
	// NoUDP and NoTCP turn off the UDP or TCP (and TLS) listeners.
	NoUDP, NoTCP bool
	// NS runs the server inside this network namespace; readiness is then
	// checked with turnutils_stunclient in it (so STUN over UDP must stay
	// on).
	NS *netlab.NS
	// RFC5780 keeps NAT behaviour discovery on: with two ListenIPs coturn
	// answers CHANGE-REQUEST from the other IP and from the alternative
	// port, Port+1 (free only in a namespace of the test's own). Debian's
	// /etc/turnserver.conf says no-rfc5780, so the server then reads an
	// empty config file instead.
	RFC5780 bool
	// Auth, when set, replaces the authentication options: e.g.
	// {"--no-auth"}, or {"--lt-cred-mech"} with users only in the
	// database Admin fills.
	Auth []string
	// Admin are turnadmin commands run on the server's database before it
	// starts, e.g. {"-a", "-u", "u", "-r", "other.test", "-p", "p"} (a
	// user of another realm); "-b DB" is added.
	Admin [][]string
	// CLIPassword, when set, keeps coturn's telnet CLI on (127.0.0.1,
	// cli-port 5766) with that password instead of --no-cli; a server in a
	// namespace of its own (NS) has the port to itself.
	CLIPassword string
	// Software keeps the SOFTWARE attribute (coturn's version) in answers
	// instead of --no-software-attribute.
	Software bool
	// Args are more turnserver options, e.g. "--no-stun",
	// "--channel-lifetime=5".
	Args []string
}

// Server is a running coturn.
type Server struct {
	// Host is the first listening address (127.0.0.1 by default).
	Host          string
	Port, TLSPort int
	Realm         string
	// CertPool trusts the server's certificate, CertFile holds it and
	// CAFile the CA that signed it, in PEM (TLS only).
	CertPool         *x509.CertPool
	CertFile, CAFile string
	cmd              *exec.Cmd
	log              *netlab.SyncBuffer
	exited           chan struct{}
}

// Start runs turnserver and waits until it answers STUN on its port.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := testenv.LookPath(t, "turnserver")
	dir := t.TempDir()
	if cfg.Realm == "" {
		cfg.Realm = "rtcprobe.test"
	}
	s := &Server{Port: FreePort(t), TLSPort: FreePort(t), Realm: cfg.Realm, log: &netlab.SyncBuffer{}}
	if len(cfg.ListenIPs) == 0 {
		cfg.ListenIPs = []string{"127.0.0.1"}
	}
	s.Host = cfg.ListenIPs[0]
	var args []string
	for _, ip := range cfg.ListenIPs {
		args = append(args, "--listening-ip="+ip, "--relay-ip="+ip)
	}
	if cfg.RFC5780 {
		empty := filepath.Join(dir, "turnserver.conf")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-c", empty, "--alt-listening-port="+strconv.Itoa(s.Port+1))
	} else {
		// coturn also opens alternative ports (port+1) for RFC 5780; the
		// free-port search cannot guarantee those.
		args = append(args, "--no-rfc5780")
	}
	args = append(args,
		"--listening-port="+strconv.Itoa(s.Port), "--tls-listening-port="+strconv.Itoa(s.TLSPort),
		"--no-stdout-log", "--log-file=stdout", "--simple-log",
		"--pidfile="+filepath.Join(dir, "turnserver.pid"), "--db="+filepath.Join(dir, "turndb"),
		"--realm="+cfg.Realm,
	)
	if cfg.CLIPassword != "" {
		args = append(args, "--cli-ip=127.0.0.1", "--cli-password="+cfg.CLIPassword)
	} else {
		args = append(args, "--no-cli")
	}
	if !cfg.Software {
		args = append(args, "--no-software-attribute")
	}
	if cfg.IPv6 {
		args = append(args, "--listening-ip=::1", "--relay-ip=::1")
	}
	if !cfg.DenyLoopbackPeers {
		args = append(args, "--allow-loopback-peers")
	}
	switch {
	case cfg.Auth != nil:
		args = append(args, cfg.Auth...)
	case cfg.AuthSecret != "":
		args = append(args, "--use-auth-secret", "--static-auth-secret="+cfg.AuthSecret)
	default:
		args = append(args, "--lt-cred-mech", "--user="+cfg.User+":"+cfg.Password)
	}
	db := filepath.Join(dir, "turndb")
	for _, a := range cfg.Admin {
		admin := testenv.LookPath(t, "turnadmin")
		if out, err := exec.Command(admin, append(a, "-b", db)...).CombinedOutput(); err != nil {
			t.Fatalf("turnadmin %v: %v\n%s", a, err, out)
		}
	}
	if cfg.UserQuota > 0 {
		args = append(args, "--user-quota="+strconv.Itoa(cfg.UserQuota))
	}
	if cfg.NoUDP {
		args = append(args, "--no-udp")
	}
	if cfg.NoTCP {
		args = append(args, "--no-tcp")
	}
	if cfg.TLS {
		certFile, keyFile, caFile, pool := writeCert(t, dir, cfg.CertHosts)
		s.CertPool, s.CertFile, s.CAFile = pool, certFile, caFile
		args = append(args, "--cert="+certFile, "--pkey="+keyFile)
	} else {
		args = append(args, "--no-tls", "--no-dtls")
	}
	args = append(args, cfg.Args...)
	if cfg.NS != nil {
		s.cmd = cfg.NS.Command(context.Background(), bin, args...)
	} else {
		s.cmd = exec.Command(bin, args...)
	}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting turnserver: %v", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("turnserver log:\n%s", s.log.String())
		}
	})
	if cfg.NS != nil {
		s.waitReadyIn(t, cfg.NS)
	} else {
		s.waitReady(t, cfg)
	}
	return s
}

// waitReadyIn polls with coturn's own STUN client inside ns until the
// server reports a reflexive address, or fails the test after 10 s.
func (s *Server) waitReadyIn(t testing.TB, ns *netlab.NS) {
	t.Helper()
	client := testenv.LookPath(t, "turnutils_stunclient")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		out, err := ns.Command(ctx, client, "-p", strconv.Itoa(s.Port), s.Host).CombinedOutput()
		cancel()
		if err == nil && bytes.Contains(out, []byte("reflexive addr")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("turnserver in %s not ready after 10s: %v %s\n%s", ns.Name, err, out, s.log.String())
		}
		select {
		case <-s.exited:
			t.Fatalf("turnserver exited:\n%s", s.log.String())
		default:
		}
	}
}

// waitReady polls until coturn answers over UDP and accepts TCP (and TLS)
// connections, on the listeners it was asked to open, or fails the test
// after 10 s. The UDP probe is an unauthenticated Allocate, which coturn
// answers (401) even with STUN Binding turned off.
func (s *Server) waitReady(t testing.TB, cfg Config) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var err error
		if !cfg.NoUDP {
			err = allocateAnswered(addr)
		}
		if err == nil && !cfg.NoTCP {
			err = accepts(addr)
		}
		if err == nil && cfg.TLS && !cfg.NoTCP {
			err = accepts(net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)))
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("turnserver not ready after 10s: %v\n%s", err, s.log.String())
		}
		select {
		case <-s.exited:
			t.Fatalf("turnserver exited:\n%s", s.log.String())
		case <-tick.C:
		}
	}
}

func allocateAnswered(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}})
	if _, err := c.Write(req.Raw); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 1500)
	_, err = c.Read(buf)
	return err
}

func accepts(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return err
	}
	return c.Close()
}

// FreePort returns a port that is free on both UDP and TCP on 127.0.0.1
// (and ::1 when present), for a server that binds it next.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		ok := true
		for _, addr := range []string{"127.0.0.1", "[::1]"} {
			pc, err := net.ListenPacket("udp", addr+":"+strconv.Itoa(port))
			if err != nil {
				if addr == "[::1]" && !HasIPv6() {
					continue
				}
				ok = false
				break
			}
			_ = pc.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on both UDP and TCP")
	return 0
}

// HasIPv6 reports whether ::1 is usable here.
func HasIPv6() bool { return testenv.HasIPv6Loopback() }

// writeCert writes a certificate for hosts (default 127.0.0.1, ::1 and
// localhost), signed by a throw-away CA that pool trusts.
func writeCert(t testing.TB, dir string, hosts []string) (certFile, keyFile, caFile string, pool *x509.CertPool) {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	cert, err := netlab.NewCert(time.Now().Add(30*24*time.Hour), hosts...)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err = cert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, caFile, cert.Pool
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool, MinVersion: tls.VersionTLS12}
}

// URI is "scheme:127.0.0.1:port" (or [::1] for host "::1").
func (s *Server) URI(scheme, host string, port int) string {
	return fmt.Sprintf("%s:%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)))
}

// CPUTime is the processor time coturn has used so far (user + system),
// read from /proc: a load benchmark tells from it whether the server or
// the generator ran out of CPU.
func (s *Server) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start past its closing parenthesis. utime and stime are fields 14
	// and 15, in clock ticks of 1/100 s (USER_HZ on Linux).
	rest := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(rest) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", s.cmd.Process.Pid, len(rest))
	}
	var ticks int64
	for _, f := range rest[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// RSS is coturn's resident set size now, from /proc (VmRSS): a test that
// probes the server many times reads from it whether the probes left
// state behind.
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", s.cmd.Process.Pid)
}
