package probes

import "testing"

// TestParseSNMP: the drops are RcvbufErrors, not the other input errors
// beside them (checksum errors are the network's), read from the column
// the header names.
func TestParseSNMP(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"Udp: 2610116 63694 40090 2720996 40037 0 53 0 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"UdpLite: 0 0 7 0 7 0 0 0 0\n"
	if v, ok := parseSNMPUDP4([]byte(snmp)); !ok || v != 40037 {
		t.Errorf("Udp RcvbufErrors = %d, %v; want 40037", v, ok)
	}
	snmp6 := "Udp6InDatagrams                 	100\nUdp6InErrors                    	2905\nUdp6RcvbufErrors                	2897\n"
	if v, ok := parseSNMP6UDP([]byte(snmp6)); !ok || v != 2897 {
		t.Errorf("Udp6RcvbufErrors = %d, %v; want 2897", v, ok)
	}
	if _, ok := parseSNMPUDP4([]byte("Ip: Forwarding\nIp: 1\n")); ok {
		t.Error("no Udp lines read as known")
	}
}
