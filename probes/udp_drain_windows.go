package probes

import "net"

// drained: Windows has no non-blocking receive flag to empty a socket
// without waiting, so a kept socket is never taken as fit there and each
// probe opens a fresh one (as it does when the pool is full).
func drained(net.Conn) bool { return false }
