//go:build unix

package probes

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxDrained bounds the datagrams drained from a kept socket: one that
// keeps receiving (a server, or anyone, sending to it without end) is not
// fit to lend, and the drain must end.
const maxDrained = 64

// drained reads and drops whatever came in on c since it was kept,
// without waiting; it reports whether c is still fit to use (an error
// since then, an ICMP port unreachable say, or more than maxDrained
// datagrams, make it not).
func drained(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fit := false
	buf := make([]byte, 1500)
	err = rc.Read(func(fd uintptr) bool {
		for range maxDrained + 1 {
			_, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			switch {
			case err == nil:
				continue
			case errors.Is(err, unix.EAGAIN):
				fit = true
			}
			return true // done: nothing left, or an error
		}
		return true // still receiving: not fit
	})
	return err == nil && fit
}
