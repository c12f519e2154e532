//go:build unix

package probes

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// drained reads and drops whatever came in on c since it was kept,
// without waiting; it reports whether c is still fit to use (an error
// since then, an ICMP port unreachable say, makes it not).
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
		for {
			_, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			switch {
			case err == nil:
				continue
			case errors.Is(err, unix.EAGAIN):
				fit = true
			}
			return true // done: nothing left, or an error
		}
	})
	return err == nil && fit
}
