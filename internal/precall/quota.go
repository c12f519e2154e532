package precall

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// networkShare is how many clients' worth of results one /24 (IPv4) or
// /48 (IPv6) network may store an hour: an office behind a few addresses
// gets more than one client, a network of borrowed addresses not
// unbounded.
const networkShare = 5

// resultQuota caps the results one client stores an hour, per address
// (IPv6: per /64, which one client has to choose from) and per network:
// anonymous posts cannot fill the store. Each key has a bucket of its
// hour's results that refills evenly over the hour.
type resultQuota struct {
	mu      sync.Mutex
	perHour int
	byAddr  map[netip.Prefix]*bucket
	byNet   map[netip.Prefix]*bucket
}

type bucket struct {
	left float64
	at   time.Time
}

func newResultQuota(perHour int) *resultQuota {
	return &resultQuota{perHour: perHour, byAddr: map[netip.Prefix]*bucket{}, byNet: map[netip.Prefix]*bucket{}}
}

// setPerHour changes the cap (a reload); buckets keep what they hold,
// up to the new cap.
func (q *resultQuota) setPerHour(n int) {
	q.mu.Lock()
	q.perHour = n
	q.mu.Unlock()
}

// limit is the cap per address.
func (q *resultQuota) limit() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.perHour
}

// keys are a's address key and network key.
func quotaKeys(a netip.Addr) (addr, network netip.Prefix) {
	if a.Is6() {
		addr, _ = a.Prefix(64)
		network, _ = a.Prefix(48)
		return addr, network
	}
	addr, _ = a.Prefix(32)
	network, _ = a.Prefix(24)
	return addr, network
}

// take spends one result of a's address and network; when either has
// none left it spends nothing and says how long until one refills and
// which ran out ("address" or "network").
func (q *resultQuota) take(a netip.Addr, now time.Time) (ok bool, wait time.Duration, which string) {
	ak, nk := quotaKeys(a)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.perHour <= 0 {
		return true, 0, ""
	}
	ab := q.bucket(q.byAddr, ak, float64(q.perHour), now)
	nb := q.bucket(q.byNet, nk, float64(q.perHour*networkShare), now)
	per := time.Hour / time.Duration(q.perHour)
	for _, c := range []struct {
		b     *bucket
		which string
		every time.Duration
	}{{ab, "address", per}, {nb, "network", per / networkShare}} {
		if c.b.left < 1 {
			return false, time.Duration((1 - c.b.left) * float64(c.every)), c.which
		}
	}
	ab.left--
	nb.left--
	return true, 0, ""
}

// refund gives back what take spent for a result that was not stored.
func (q *resultQuota) refund(a netip.Addr) {
	ak, nk := quotaKeys(a)
	q.mu.Lock()
	defer q.mu.Unlock()
	if b := q.byAddr[ak]; b != nil {
		b.left = math.Min(b.left+1, float64(q.perHour))
	}
	if b := q.byNet[nk]; b != nil {
		b.left = math.Min(b.left+1, float64(q.perHour*networkShare))
	}
}

// bucket returns key's bucket refilled up to now (a new one is full);
// a bucket full again is as good as forgotten, so the maps are pruned of
// those, and bounded by maxTracked.
func (q *resultQuota) bucket(m map[netip.Prefix]*bucket, key netip.Prefix, size float64, now time.Time) *bucket {
	refill := func(b *bucket) {
		if d := now.Sub(b.at); d > 0 {
			b.left = math.Min(size, b.left+size*d.Hours())
			b.at = now
		}
	}
	b := m[key]
	if b == nil {
		if len(m) >= maxTracked {
			for k, o := range m {
				if refill(o); o.left >= size {
					delete(m, k)
				}
			}
			if len(m) >= maxTracked {
				// Every client tracked is still spending: the longest idle
				// one goes (it may then store a little early).
				var oldest netip.Prefix
				var at time.Time
				for k, o := range m {
					if at.IsZero() || o.at.Before(at) {
						oldest, at = k, o.at
					}
				}
				delete(m, oldest)
			}
		}
		b = &bucket{left: size, at: now}
		m[key] = b
	}
	refill(b)
	return b
}
