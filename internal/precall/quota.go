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
	byAddr  *bucketTable
	byNet   *bucketTable
}

func newResultQuota(perHour int) *resultQuota {
	return &resultQuota{perHour: perHour, byAddr: newBucketTable(maxTracked), byNet: newBucketTable(maxTracked)}
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
	nb := q.byNet.get(nk, float64(q.perHour*networkShare), time.Hour, now)
	ab := q.byAddr.get(ak, float64(q.perHour), time.Hour, now)
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
	if b := q.byAddr.peek(ak); b != nil {
		b.left = math.Min(b.left+1, float64(q.perHour))
	}
	if b := q.byNet.peek(nk); b != nil {
		b.left = math.Min(b.left+1, float64(q.perHour*networkShare))
	}
}
