package netlab

import (
	"net"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// In runs f on an OS thread that has entered the namespace. A socket
// stays in the namespace it was made in, so what f opens listens inside
// the namespace while the test's goroutines serve it from anywhere: a
// listener inside a lab without another process. f must open its
// sockets itself, not in goroutines it starts.
func (ns *NS) In(t testing.TB, f func()) {
	t.Helper()
	failed := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			failed <- err
			runtime.UnlockOSThread()
			return
		}
		defer home.Close()
		there, err := os.Open("/var/run/netns/" + ns.Name)
		if err != nil {
			failed <- err
			runtime.UnlockOSThread()
			return
		}
		defer there.Close()
		if err := unix.Setns(int(there.Fd()), unix.CLONE_NEWNET); err != nil {
			failed <- err
			runtime.UnlockOSThread()
			return
		}
		f()
		// A thread that cannot go home stays locked: the runtime ends it
		// with this goroutine instead of reusing it elsewhere.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		failed <- nil
	}()
	if err := <-failed; err != nil {
		t.Fatalf("entering namespace %s: %v", ns.Name, err)
	}
}

// ListenPacket opens a UDP socket inside the namespace, closed when the
// test ends.
func (ns *NS) ListenPacket(t testing.TB, network, addr string) net.PacketConn {
	t.Helper()
	var (
		pc  net.PacketConn
		err error
	)
	ns.In(t, func() { pc, err = net.ListenPacket(network, addr) })
	if err != nil {
		t.Fatalf("listen %s %s in %s: %v", network, addr, ns.Name, err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// Listen opens a TCP listener inside the namespace, closed when the test
// ends.
func (ns *NS) Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	var (
		l   net.Listener
		err error
	)
	ns.In(t, func() { l, err = net.Listen(network, addr) })
	if err != nil {
		t.Fatalf("listen %s %s in %s: %v", network, addr, ns.Name, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}
