//go:build !linux

package probes

import "net"

// Only Linux hands a UDP socket the ICMP error behind a refusal
// (IP_RECVERR and its error queue). Elsewhere a refused datagram is
// reported by its errno alone (ECONNREFUSED, EHOSTUNREACH): the probe
// still says the target refused or was unreachable, without the ICMP
// type, code and sender.
func enableRecvErr(*net.UDPConn) {}

func readICMP(*net.UDPConn) (r ICMPReport, errno uint32, ok bool) { return r, 0, false }
