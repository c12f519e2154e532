package probes

import (
	"bytes"
	"strconv"
)

// udpRcvbufDrops is how many UDP datagrams this machine's kernel dropped,
// in this network namespace, because a socket's receive buffer was full
// (Udp RcvbufErrors in /proc/net/snmp, Udp6RcvbufErrors in
// /proc/net/snmp6): a socket here was not read in time. The datagram got
// here; the network did not lose it.
func udpRcvbufDrops() (uint64, bool) {
	v4, ok4 := snmpUDP4RcvbufErrors()
	v6, ok6 := snmpUDP6RcvbufErrors()
	return v4 + v6, ok4 && ok6
}

// snmpUDP4RcvbufErrors reads the "Udp:" header and value lines.
func snmpUDP4RcvbufErrors() (uint64, bool) {
	b, ok := readProcLimit("/proc/net/snmp", 16<<10)
	if !ok {
		return 0, false
	}
	return parseSNMPUDP4(b)
}

func parseSNMPUDP4(b []byte) (uint64, bool) {
	var names [][]byte
	for line := range bytes.Lines(b) {
		rest, found := bytes.CutPrefix(line, []byte("Udp: "))
		if !found {
			continue
		}
		fields := bytes.Fields(rest)
		if names == nil {
			names = fields
			continue
		}
		for i, n := range names {
			if string(n) == "RcvbufErrors" && i < len(fields) {
				v, err := strconv.ParseUint(string(fields[i]), 10, 64)
				return v, err == nil
			}
		}
		return 0, false
	}
	return 0, false
}

// snmpUDP6RcvbufErrors reads "Udp6RcvbufErrors N"; a kernel without IPv6
// has no file, and no IPv6 drops.
func snmpUDP6RcvbufErrors() (uint64, bool) {
	b, ok := readProcLimit("/proc/net/snmp6", 64<<10)
	if !ok {
		return 0, true
	}
	return parseSNMP6UDP(b)
}

func parseSNMP6UDP(b []byte) (uint64, bool) {
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == "Udp6RcvbufErrors" {
			v, err := strconv.ParseUint(string(f[1]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
