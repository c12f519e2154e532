// Package netlab builds small real networks for tests: network namespaces
// joined by veth pairs, with iptables rules and processes inside them.
// Everything a test creates is removed in t.Cleanup, even on failure.
package netlab

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// Require skips (outside CI) or fails (in CI) a test that cannot build a
// lab here: it needs root, ip and iptables.
func Require(t testing.TB) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.LookPath(t, "ip")
	testenv.LookPath(t, "iptables")
}

// Suffix is a short random string that keeps names of concurrent tests
// apart.
func Suffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NS is a network namespace a test created.
type NS struct {
	Name string
}

// NewNS creates a namespace named prefix-<random> with lo up, deleted when
// the test ends.
func NewNS(t testing.TB, prefix string) *NS {
	t.Helper()
	ns := &NS{Name: "rtcp-" + prefix + "-" + Suffix()}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command inside the namespace and fails the test on error.
func (ns *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", ns.Name}, args...)...)
}

// Command prepares a command inside the namespace. ip netns exec execs the
// command in place, so the process's PID is the command's own.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Link joins a and b with a veth pair (names only need to be unique
// inside each namespace) and gives each end an address in CIDR form.
func Link(t testing.TB, a *NS, aIf, aAddr string, b *NS, bIf, bAddr string) {
	t.Helper()
	run(t, "ip", "link", "add", aIf, "netns", a.Name, "type", "veth", "peer", "name", bIf, "netns", b.Name)
	for _, end := range []struct {
		ns        *NS
		ifc, cidr string
	}{{a, aIf, aAddr}, {b, bIf, bAddr}} {
		end.ns.Run(t, "ip", "addr", "add", end.cidr, "dev", end.ifc)
		end.ns.Run(t, "ip", "link", "set", end.ifc, "up")
	}
}

// IPTables applies one iptables rule inside the namespace:
// ns.IPTables(t, "-A INPUT -p udp -j DROP").
func (ns *NS) IPTables(t testing.TB, rule string) {
	t.Helper()
	ns.Run(t, append([]string{"iptables", "-w"}, strings.Fields(rule)...)...)
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Process is a long-running command in a namespace that announced it is
// ready by printing a line.
type Process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// Ready is the first line the process printed.
	Ready string
}

// StartProcess runs cmd and waits (up to wait) for its first stdout line.
// The process gets a pipe as stdin: closing it, as the cleanup does, tells
// a well-behaved child to exit, and it is killed by PID if it does not, so
// nothing is left behind even when the test binary is killed mid-test.
func StartProcess(t testing.TB, cmd *exec.Cmd, wait time.Duration) *Process {
	t.Helper()
	var err error
	p := &Process{cmd: cmd}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &SyncBuffer{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = diesWithTest()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd, err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("%s exited before it was ready: %s", cmd, stderr.String())
		}
		p.Ready = line
	case <-time.After(wait):
		t.Fatalf("%s not ready after %s: %s", cmd, wait, stderr.String())
	}
	return p
}

// Env returns os.Environ with extra KEY=VALUE pairs.
func Env(extra ...string) []string { return append(os.Environ(), extra...) }

// CIDR is addr/prefix: CIDR("10.1.2.3", 24).
func CIDR(addr string, prefix int) string { return fmt.Sprintf("%s/%d", addr, prefix) }

// SyncBuffer collects a child's output while the test may read it.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
