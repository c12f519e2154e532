package probes

import (
	"encoding/binary"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// enableRecvErr asks the kernel to queue every ICMP error this socket gets,
// with its type, code and sender (IP_RECVERR, IPV6_RECVERR).
func enableRecvErr(c *net.UDPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		// One of the two fails depending on the socket's family; either
		// is enough.
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	})
}

// readICMP takes the oldest ICMP error from c's error queue, with the errno
// the kernel reports for it, without waiting; ok is false when there is
// none.
func readICMP(c *net.UDPConn) (r ICMPReport, errno uint32, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return r, 0, false
	}
	buf, oob := make([]byte, 512), make([]byte, 512)
	var oobn int
	_ = raw.Read(func(fd uintptr) bool {
		_, oobn, _, _, err = unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		return true // never wait: the queue has an entry now or not at all
	})
	if err != nil || oobn == 0 {
		return r, 0, false
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return r, 0, false
	}
	for _, m := range msgs {
		v4 := m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR
		v6 := m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if (!v4 && !v6) || len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
		if ee.Origin != unix.SO_EE_ORIGIN_ICMP && ee.Origin != unix.SO_EE_ORIGIN_ICMP6 {
			continue
		}
		r = ICMPReport{Type: int(ee.Type), Code: int(ee.Code), IPv6: ee.Origin == unix.SO_EE_ORIGIN_ICMP6}
		r.Meaning = icmpMeaning(r.IPv6, r.Type, r.Code)
		r.From = offender(m.Data[unsafe.Sizeof(unix.SockExtendedErr{}):])
		return r, ee.Errno, true
	}
	return r, 0, false
}

// offender decodes the sockaddr the kernel puts after the extended error
// (SO_EE_OFFENDER): the address that sent the ICMP error.
func offender(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		if len(b) >= 8 {
			return net.IP(b[4:8]).String()
		}
	case unix.AF_INET6:
		if len(b) >= 24 {
			return net.IP(b[8:24]).String()
		}
	}
	return ""
}
