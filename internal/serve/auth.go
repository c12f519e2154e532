package serve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Basic auth costs a bcrypt comparison (tens of milliseconds of CPU by
// design), so unauthenticated clients could buy the server's CPU with
// wrong passwords. What bounds it, by construction:
//   - a successful check is remembered while it is in use (authCache: a
//     minute from its last use), so a client that keeps coming, such as
//     Prometheus, pays bcrypt once;
//   - a network (an IPv4 /24, an IPv6 /48) may send a few wrong passwords
//     a minute (failureBudget); beyond them its checks are refused without
//     a comparison, so however many addresses guess, they buy their
//     network's budget of CPU and no more;
//   - a client address runs one comparison at a time and the server a few
//     (bcryptGate); a client over its share, or waiting longer than
//     authWait, gets 429 at once;
//   - the check runs before the request takes a place in flight, so
//     guessing holds none of the class's places.

// authCache remembers successful checks only: a cache of failures would be
// filled by whoever sends wrong passwords. Keys are an HMAC, under a key
// drawn at start, of user, stored hash and password: never the password,
// and nothing an offline guess could be checked against.
type authCache struct {
	mu      sync.Mutex
	key     [32]byte
	entries map[[32]byte]time.Time // → expiry
}

const (
	authCacheSize = 1024
	authCacheTTL  = time.Minute
)

func newAuthCache() *authCache {
	c := &authCache{entries: map[[32]byte]time.Time{}}
	_, _ = rand.Read(c.key[:]) // never fails (crypto/rand panics instead)
	return c
}

func (c *authCache) keyOf(user, hash, pass string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	for _, s := range []string{user, hash, pass} {
		fmt.Fprintf(m, "%d:%s", len(s), s)
	}
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// known reports whether these credentials passed recently, and keeps them
// for another authCacheTTL if so.
func (c *authCache) known(k [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[k]
	if !ok || !now.Before(exp) {
		return false
	}
	c.entries[k] = now.Add(authCacheTTL)
	return true
}

func (c *authCache) remember(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= authCacheSize {
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
	}
	if len(c.entries) >= authCacheSize {
		// Only correct passwords get here: so many users at once is not
		// an attack, and starting over costs each of them one bcrypt.
		clear(c.entries)
	}
	c.entries[k] = now.Add(authCacheTTL)
}

// errAuthBusy refuses a password check for now (429): the client's share
// or the server's is in use.
var errAuthBusy = errors.New("429 too many requests: password checks are busy")

// authWait is how long a check may wait for the server's share, then
// 429: at most one waiter per client address, each holding only its
// goroutine, so waiting is cheap; the bound is for the client's sake.
const authWait = 5 * time.Second

// bcryptGate bounds password checks: one at a time per client address
// (IPv4 address, IPv6 /64), and one per core for the whole server (the
// scheduler still gives the other requests their turns). Waiters for the server's share queue in
// arrival order (a channel's), one per client address at most, so a
// client behind many guessing addresses waits its turn, not forever.
type bcryptGate struct {
	mu       sync.Mutex
	busy     map[netip.Prefix]bool
	failures *failureBudget
	server   chan struct{}
}

func newBcryptGate() *bcryptGate {
	return &bcryptGate{busy: map[netip.Prefix]bool{}, failures: newFailureBudget(),
		server: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// compare runs bcrypt for remoteAddr within the gate's shares.
func (g *bcryptGate) compare(remoteAddr, hash, pass string) (good bool, err error) {
	client := clientPrefix(remoteAddr)
	network := networkPrefix(client)
	now := time.Now()
	if wait := g.failures.wait(network, now); wait > 0 {
		return false, &authRefused{why: "this network sent too many wrong passwords", retry: wait}
	}
	g.mu.Lock()
	if g.busy[client] {
		g.mu.Unlock()
		return false, fmt.Errorf("%w: this client address has one in progress, its share", errAuthBusy)
	}
	g.busy[client] = true
	g.mu.Unlock()
	defer func() {
		if err == nil && !good {
			g.failures.spend(network, time.Now())
		}
	}()
	defer func() {
		g.mu.Lock()
		delete(g.busy, client)
		g.mu.Unlock()
	}()
	wait := time.NewTimer(authWait)
	defer wait.Stop()
	select {
	case g.server <- struct{}{}:
	case <-wait.C:
		return false, fmt.Errorf("%w: the server runs %d at a time and they are taken", errAuthBusy, cap(g.server))
	}
	defer func() { <-g.server }()
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil, nil
}

// authRefused is a check refused before bcrypt ran (429 with Retry-After).
type authRefused struct {
	why   string
	retry time.Duration
}

func (e *authRefused) Error() string {
	return fmt.Sprintf("%s: %s, try again in %d s", errAuthBusy, e.why, int(e.retry.Seconds()+0.999))
}

func (e *authRefused) Unwrap() error { return errAuthBusy }

// failureBudget is each network's allowance of wrong passwords: a bucket
// of failureBurst that refills one every failureEvery. It holds networks
// whose bucket is not full (the others are as good as new), at most
// failureNetworks: past that, a network it does not hold is refused (a
// guessing attack from that many networks at once), rather than the table
// growing with the attack.
type failureBudget struct {
	mu      sync.Mutex
	buckets map[netip.Prefix]*failureBucket
}

type failureBucket struct {
	tokens float64
	at     time.Time
}

const (
	failureBurst    = 10
	failureEvery    = 6 * time.Second
	failureNetworks = 1 << 16
)

func newFailureBudget() *failureBudget {
	return &failureBudget{buckets: map[netip.Prefix]*failureBucket{}}
}

// level is b's tokens at now.
func (b *failureBucket) level(now time.Time) float64 {
	return min(failureBurst, b.tokens+float64(now.Sub(b.at))/float64(failureEvery))
}

// wait is how long network must wait before its next check (0: now).
func (f *failureBudget) wait(network netip.Prefix, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[network]
	if !ok {
		if len(f.buckets) >= failureNetworks {
			return failureEvery
		}
		return 0
	}
	if lv := b.level(now); lv < 1 {
		return time.Duration((1 - lv) * float64(failureEvery))
	}
	return 0
}

// spend takes one wrong password from network's bucket.
func (f *failureBudget) spend(network netip.Prefix, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buckets) >= failureNetworks {
		for n, b := range f.buckets {
			if b.level(now) >= failureBurst {
				delete(f.buckets, n)
			}
		}
	}
	b, ok := f.buckets[network]
	if !ok {
		if len(f.buckets) >= failureNetworks {
			return
		}
		b = &failureBucket{tokens: failureBurst, at: now}
		f.buckets[network] = b
	}
	b.tokens, b.at = max(0, b.level(now)-1), now
}
