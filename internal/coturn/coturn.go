// Package coturn runs the real coturn TURN server (Debian package coturn,
// binary turnserver) on loopback for tests: each server on its own free
// ports, with its own database and pid file, killed by PID when the test
// ends. Without turnserver the test skips, or fails in CI.
package coturn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testenv"
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
}

// Server is a running coturn.
type Server struct {
	Port, TLSPort int
	Realm         string
	// CertPool trusts the server's certificate and CertFile holds it in
	// PEM (TLS only).
	CertPool *x509.CertPool
	CertFile string
	cmd      *exec.Cmd
	log      *netlab.SyncBuffer
	exited   chan struct{}
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
	args := []string{
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port=" + strconv.Itoa(s.Port), "--tls-listening-port=" + strconv.Itoa(s.TLSPort),
		// coturn also opens alternative ports (port+1) for RFC 5780; the
		// free-port search cannot guarantee those.
		"--no-rfc5780",
		"--no-cli", "--no-stdout-log", "--log-file=stdout", "--simple-log",
		"--pidfile=" + filepath.Join(dir, "turnserver.pid"), "--db=" + filepath.Join(dir, "turndb"),
		"--realm=" + cfg.Realm, "--no-software-attribute",
	}
	if cfg.IPv6 {
		args = append(args, "--listening-ip=::1", "--relay-ip=::1")
	}
	if !cfg.DenyLoopbackPeers {
		args = append(args, "--allow-loopback-peers")
	}
	if cfg.AuthSecret != "" {
		args = append(args, "--use-auth-secret", "--static-auth-secret="+cfg.AuthSecret)
	} else {
		args = append(args, "--lt-cred-mech", "--user="+cfg.User+":"+cfg.Password)
	}
	if cfg.UserQuota > 0 {
		args = append(args, "--user-quota="+strconv.Itoa(cfg.UserQuota))
	}
	if cfg.TLS {
		certFile, keyFile, pool := writeCert(t, dir)
		s.CertPool, s.CertFile = pool, certFile
		args = append(args, "--cert="+certFile, "--pkey="+keyFile)
	} else {
		args = append(args, "--no-tls", "--no-dtls")
	}
	s.cmd = exec.Command(bin, args...)
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
	s.waitReady(t, cfg.TLS)
	return s
}

// waitReady polls until coturn answers a Binding request over UDP and
// accepts TCP (and TLS) connections, or fails the test after 10 s.
func (s *Server) waitReady(t testing.TB, withTLS bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := bindingAnswered(addr)
		if err == nil {
			err = accepts(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
		}
		if err == nil && withTLS {
			err = accepts(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TLSPort)))
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

func bindingAnswered(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
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

// writeCert writes a certificate for 127.0.0.1/::1/localhost, signed by
// a throw-away CA that pool trusts.
func writeCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	cert, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1", "::1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _, err = cert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert.Pool
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool, MinVersion: tls.VersionTLS12}
}

// URI is "scheme:127.0.0.1:port" (or [::1] for host "::1").
func (s *Server) URI(scheme, host string, port int) string {
	return fmt.Sprintf("%s:%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)))
}
