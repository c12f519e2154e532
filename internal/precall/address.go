package precall

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// clientAddr is the address a request came from (the TCP peer: rtcprobe
// serve does not trust forwarding headers).
func clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// storedAddr is how a client's address is kept: its /24 (IPv4) or /48
// (IPv6) network unless the operator keeps whole addresses.
func storedAddr(a netip.Addr, full bool) string {
	if !a.IsValid() {
		return ""
	}
	if full {
		return a.String()
	}
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// addrLimiter limits session starts per client address (an IPv4
// address; an IPv6 /64, which one host has to choose addresses from) and
// per client network (an IPv4 /24, an IPv6 /48: networkShare addresses'
// worth), so that a network's many addresses do not multiply the rate.
type addrLimiter struct {
	perMinute int

	mu            sync.Mutex
	byAddr, byNet *bucketTable
}

func newAddrLimiter(perMinute int) *addrLimiter {
	return &addrLimiter{perMinute: perMinute, byAddr: newBucketTable(maxTracked), byNet: newBucketTable(maxTracked)}
}

// allow reports whether a may start a session now; when not, which share
// refused it ("address" or "network"). The network is asked first: a
// network over its rate adds no address buckets, so one network's
// addresses churn the address table only at the network's rate.
func (l *addrLimiter) allow(a netip.Addr, now time.Time) (ok bool, which string) {
	ak, nk := clientKeys(a)
	size := float64(l.perMinute)
	l.mu.Lock()
	defer l.mu.Unlock()
	nb := l.byNet.get(nk, size*networkShare, time.Minute, now)
	if nb.left < 1 {
		return false, "network"
	}
	ab := l.byAddr.get(ak, size, time.Minute, now)
	if ab.left < 1 {
		return false, "address"
	}
	nb.left--
	ab.left--
	return true, ""
}
