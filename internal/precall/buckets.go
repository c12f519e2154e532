package precall

import (
	"container/list"
	"net/netip"
	"time"
)

// bucket is one client's token bucket: what it has left, as of at.
type bucket struct {
	left float64
	at   time.Time
}

// fill refills b evenly, size per period, up to size.
func (b *bucket) fill(size float64, period time.Duration, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.left = min(size, b.left+size*float64(d)/float64(period))
		b.at = now
	}
}

// maxTracked bounds a bucketTable: the clients (addresses or networks)
// whose buckets are kept.
const maxTracked = 10000

// bucketTable holds the buckets of at most maxTracked keys, the least
// recently used forgotten first (a forgotten key starts again with a full
// bucket). Every operation is O(1), so an attacker's churn of new keys
// costs the table no scans under its caller's lock.
//
// The bound on what churn takes from others: a key's bucket is forgotten
// only after maxTracked other keys were used since its own last use; a
// bucket that had refilled by then loses nothing. Callers consult the
// network's bucket before creating an address's, so the churn of one
// network's addresses is held to that network's rate, and only clients
// from more than maxTracked distinct networks within one refill period
// can make another client's bucket be forgotten early, which at worst
// hands that client its allowance back early.
type bucketTable struct {
	max   int
	byKey map[netip.Prefix]*list.Element
	order list.List // of *tableEntry, the most recently used in front
}

type tableEntry struct {
	key netip.Prefix
	b   bucket
}

func newBucketTable(max int) *bucketTable {
	return &bucketTable{max: max, byKey: map[netip.Prefix]*list.Element{}}
}

// get returns key's bucket refilled up to now (a new one is full) and
// makes key the most recently used.
func (t *bucketTable) get(key netip.Prefix, size float64, period time.Duration, now time.Time) *bucket {
	if e := t.byKey[key]; e != nil {
		t.order.MoveToFront(e)
		b := &e.Value.(*tableEntry).b
		b.fill(size, period, now)
		return b
	}
	if t.order.Len() >= t.max {
		if last := t.order.Back(); last != nil {
			delete(t.byKey, last.Value.(*tableEntry).key)
			t.order.Remove(last)
		}
	}
	te := &tableEntry{key: key, b: bucket{left: size, at: now}}
	t.byKey[key] = t.order.PushFront(te)
	return &te.b
}

// peek returns key's bucket as it is, or nil.
func (t *bucketTable) peek(key netip.Prefix) *bucket {
	if e := t.byKey[key]; e != nil {
		return &e.Value.(*tableEntry).b
	}
	return nil
}

// len is how many keys the table holds.
func (t *bucketTable) len() int { return t.order.Len() }
