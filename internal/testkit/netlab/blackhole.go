package netlab

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// IsolatedNetns reports whether this process's network namespace has no
// way off the machine: only loopback (and blackholes made here), as under
// `unshare -n`.
func IsolatedNetns() bool {
	ifaces, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback == 0 && !strings.HasPrefix(ifc.Name, "rtcpbh") {
			return false
		}
	}
	return true
}

// Blackhole returns an address where every packet silently vanishes:
// a veth pair leads from the current namespace into a namespace of the
// test's own whose iptables drops all input, so SYNs and datagrams get no
// answer and no ICMP. The current namespace must be isolated (unshare
// -n), never the host's. Everything is removed when the test ends.
func Blackhole(tb testing.TB) string {
	tb.Helper()
	ns, _, remote := Peer(tb, "bh")
	ns.IPTables(tb, "-A INPUT -j DROP")
	return remote
}

// Peer makes a namespace of the test's own reachable from the current
// one over a veth pair: local is this end's address, remote the new
// namespace's (10.N.0.1 and 10.N.0.2, /24). The current namespace must be
// isolated (unshare -n), never the host's. Everything is removed when the
// test ends.
func Peer(tb testing.TB, prefix string) (ns *NS, local, remote string) {
	tb.Helper()
	Require(tb)
	if !IsolatedNetns() {
		testenv.Unavailable(tb, "a route to a test namespace is only added to an isolated network namespace (run under unshare -n, as make test does)")
	}
	ns = NewNS(tb, prefix)
	name := "rtcpbh" + Suffix()
	n := 1 + rand.IntN(250)
	local, remote = fmt.Sprintf("10.%d.0.1", n), fmt.Sprintf("10.%d.0.2", n)
	for _, args := range [][]string{
		{"ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name},
		{"ip", "addr", "add", local + "/24", "dev", name},
		{"ip", "link", "set", name, "up"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			tb.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	ns.Run(tb, "ip", "addr", "add", remote+"/24", "dev", "eth0")
	ns.Run(tb, "ip", "link", "set", "eth0", "up")
	return ns, local, remote
}

// SilentUDP is a loopback UDP port that reads and never answers: a probe
// to it waits until its deadline, as one to a server whose replies are
// dropped. It closes when the test ends.
func SilentUDP(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}

// RouteOut gives an isolated network namespace (unshare -n) a default
// route that leads nowhere: a veth pair to a new, empty namespace, with
// the route via its end. Firefox gathers no ICE candidates without a
// default route; with this one it does, and whatever is sent off loopback
// dies in the empty namespace. Each caller gets a route of its own (at
// its own metric), so test binaries sharing the namespace can come and
// go. A namespace that is not isolated is left alone if it has a default
// route (the host's). undo removes the route, the link and the namespace.
func RouteOut() (undo func(), err error) {
	if !IsolatedNetns() {
		if out, err := exec.Command("ip", "route", "show", "default").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
			return func() {}, nil
		}
		return nil, fmt.Errorf("no default route, and this is not an isolated network namespace: not adding one")
	}
	ns := "rtcp-void-" + Suffix()
	link := "rtcpbh" + Suffix()
	n := 1 + rand.IntN(250)
	local, remote := fmt.Sprintf("10.%d.0.1", n), fmt.Sprintf("10.%d.0.2", n)
	undo = func() {
		_ = exec.Command("ip", "link", "del", link).Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	for _, args := range [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "addr", "add", local + "/24", "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "netns", "exec", ns, "ip", "addr", "add", remote + "/24", "dev", "eth0"},
		{"ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up"},
		{"ip", "route", "add", "default", "via", remote, "metric", fmt.Sprint(100 + rand.IntN(900))},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			undo()
			return nil, fmt.Errorf("%v: %v: %s", args, err, out)
		}
	}
	return undo, nil
}

// DefaultRoute is RouteOut for a test: it skips (fails in CI) where it
// cannot, and undoes the route when the test ends.
func DefaultRoute(tb testing.TB) {
	tb.Helper()
	Require(tb)
	undo, err := RouteOut()
	if err != nil {
		testenv.Unavailable(tb, "%v (run under unshare -n, as make test does)", err)
	}
	tb.Cleanup(undo)
}
