package precall

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/store"
)

// healthTTL is how long a store check's answer stands: readiness probes
// however frequent cost the store one small write per period.
const healthTTL = 2 * time.Second

// healthTimeout bounds one check of the store.
const healthTimeout = 2 * time.Second

// storeHealth caches whether the store can take a result now. A failed
// result write counts as a failed check, so readiness turns at once.
type storeHealth struct {
	st store.Store

	// check serialises checks: probes that come while one runs wait for
	// its answer instead of starting their own.
	check   sync.Mutex
	mu      sync.Mutex
	at      time.Time
	problem string // "" when the store could write
}

func (h *storeHealth) set(problem string) {
	h.mu.Lock()
	h.at, h.problem = time.Now(), problem
	h.mu.Unlock()
}

func (h *storeHealth) cached() (problem string, fresh bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.problem, !h.at.IsZero() && time.Since(h.at) < healthTTL
}

// failed records a write that failed with problem.
func (h *storeHealth) failed(problem string) { h.set(problem) }

// wrote records a result stored.
func (h *storeHealth) wrote() { h.set("") }

// writable says whether the last check (or write) found the store
// writable, without checking again: for /metrics.
func (h *storeHealth) writable() bool {
	p, _ := h.cached()
	return p == ""
}

// ready checks the store unless a recent answer stands, and says what
// keeps it from taking results.
func (h *storeHealth) ready(ctx context.Context) error {
	if p, fresh := h.cached(); fresh {
		return problemError(p)
	}
	h.check.Lock()
	defer h.check.Unlock()
	if p, fresh := h.cached(); fresh {
		return problemError(p)
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	err := h.st.Writable(ctx)
	h.set(store.Problem(err))
	p, _ := h.cached()
	return problemError(p)
}

func problemError(problem string) error {
	if problem == "" {
		return nil
	}
	return errors.New("the results database is " + problem + ": results cannot be stored")
}

// Ready is the component's readiness for /-/ready: whether the store can
// take a result now.
func (p *Precall) Ready(ctx context.Context) error { return p.health.ready(ctx) }
