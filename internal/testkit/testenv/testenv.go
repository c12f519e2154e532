// Package testenv lets tests demand real tools (coturn, Chromium, root)
// honestly: outside CI a missing tool skips the test with the reason; in CI
// (CI=true) it fails it, because a skipped test is not a passing test.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Heavy skips t under -short (`make test-short`): it needs a browser, a
// third-party server, root or a network namespace of its own, which the
// quick loop leaves out. Unavailable, LookPath and RequireRoot imply it.
func Heavy(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: needs %s", needs)
	}
}

// Unavailable skips t outside CI and fails it in CI (under -short it
// skips: the quick loop does without what is missing).
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	Heavy(t, fmt.Sprintf(format, args...))
	if InCI() {
		t.Fatalf("required in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// LookPath returns the path of a binary the test needs, or skips/fails.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	Heavy(t, name)
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
			if _, err := os.Stat(dir + "/" + name); err == nil {
				return dir + "/" + name
			}
		}
		Unavailable(t, "%s not found (install the Debian package, or run `make test`)", name)
	}
	return p
}

// RaceDetector reports whether the test binary was built with -race,
// under which code runs several times slower: tests that time the code
// under test allow for it.
func RaceDetector() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// RequireRoot skips/fails when the test cannot change network namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	Heavy(t, "root for network namespaces")
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root for network namespaces and firewall rules")
	}
}

// HasIPv6Loopback reports whether ::1 can be bound here (some containers
// have no IPv6 at all).
func HasIPv6Loopback() bool {
	pc, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		return false
	}
	_ = pc.Close()
	return true
}

// RequireIPv6Loopback skips/fails when the machine has no ::1. Only the
// machine's lack is excused: once ::1 works, a test's own failure to use
// it is a failure.
func RequireIPv6Loopback(t testing.TB) {
	t.Helper()
	if !HasIPv6Loopback() {
		Unavailable(t, "no IPv6 loopback (::1) on this machine")
	}
}

// CheckGoroutines fails t if goroutines started during the test are still
// running shortly after it ends. Call it first: defer-registered via
// t.Cleanup so it runs after the test's own cleanups.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		var leaked []string
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			leaked = leaked[:0]
			for id, stack := range goroutines() {
				if _, ok := before[id]; !ok && !ignorable(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) == 0 {
				return
			}
		}
		t.Errorf("%d goroutine(s) leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	})
}

func ignorable(stack string) bool {
	for _, s := range []string{"testing.(*T).Run", "testing.tRunner", "runtime.goexit0", "os/signal.signal_recv", "testing.runFuzzing", "created by testing.(*T).Parallel"} {
		if strings.Contains(stack, s) && !strings.Contains(stack, "rtcprobe") {
			return true
		}
	}
	return strings.Contains(stack, "testenv.goroutines")
}

// goroutines maps goroutine IDs to their stacks.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		fields := strings.Fields(head)
		if len(fields) >= 2 {
			out[fields[1]] = g
		}
	}
	return out
}
