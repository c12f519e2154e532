package precall

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// addrLimiter limits session starts per client network (an IPv6 client
// has a /64 to choose addresses from: it counts as one).
type addrLimiter struct {
	perMinute int

	mu    sync.Mutex
	byNet map[netip.Prefix]*limiterEntry
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

// maxTracked bounds the limiter's memory: the least recently seen
// networks are forgotten first.
const maxTracked = 10000

func newAddrLimiter(perMinute int) *addrLimiter {
	return &addrLimiter{perMinute: perMinute, byNet: map[netip.Prefix]*limiterEntry{}}
}

// allow reports whether a may start a session now.
func (l *addrLimiter) allow(a netip.Addr, now time.Time) bool {
	bits := 32
	if a.Is6() {
		bits = 64
	}
	key, _ := a.Prefix(bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byNet[key]
	if e == nil {
		if len(l.byNet) >= maxTracked {
			l.forgetOldest()
		}
		e = &limiterEntry{l: rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.perMinute)), l.perMinute)}
		l.byNet[key] = e
	}
	e.seen = now
	return e.l.AllowN(now, 1)
}

func (l *addrLimiter) forgetOldest() {
	var oldest netip.Prefix
	var at time.Time
	for k, e := range l.byNet {
		if at.IsZero() || e.seen.Before(at) {
			oldest, at = k, e.seen
		}
	}
	delete(l.byNet, oldest)
}
