package checks

import (
	"context"
	"sync"
	"time"
)

// workClock is one job's clock for its deadlines: it stands still while
// the job waits for what another job holds (its TURN quota lease, taken
// back before its first authenticated request). A deadline starts when
// the check can work, and a wait in the middle is not its work either.
// The run's own deadline, a parent of every job's, never stands still.
type workClock struct {
	mu     sync.Mutex
	paused int           // pauses under way
	since  time.Time     // when the first of them began
	total  time.Duration // the pauses that ended
	timers map[*workCtx]struct{}
}

func newWorkClock() *workClock { return &workClock{timers: map[*workCtx]struct{}{}} }

type workClockKey struct{}

// withWorkClock makes c the clock of the deadlines set under ctx with
// withWorkTimeout.
func withWorkClock(ctx context.Context, c *workClock) context.Context {
	return context.WithValue(ctx, workClockKey{}, c)
}

// withWorkTimeout is context.WithTimeout on ctx's job clock: the time d
// does not run while the clock is paused. Without a clock it is
// context.WithTimeout.
func withWorkTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, _ := ctx.Value(workClockKey{}).(*workClock)
	if c == nil {
		return context.WithTimeout(ctx, d)
	}
	w := &workCtx{parent: ctx, clock: c, done: make(chan struct{})}
	c.mu.Lock()
	if c.paused > 0 {
		// Seen from the pause's start, as the others' deadlines are.
		w.deadline = c.since.Add(d)
	} else {
		w.deadline = time.Now().Add(d)
		w.arm()
	}
	c.timers[w] = struct{}{}
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { w.end(ctx.Err()) })
	w.mu.Lock()
	w.stopParent = stop
	w.mu.Unlock()
	return w, func() { w.end(context.Canceled) }
}

// pause stops the clock until the matching resume.
func (c *workClock) pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused++; c.paused > 1 {
		return
	}
	c.since = time.Now()
	for w := range c.timers {
		w.disarm()
	}
}

// resume moves every deadline on by the pause's length and starts the
// clock again.
func (c *workClock) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused--; c.paused > 0 {
		return
	}
	stood := time.Since(c.since)
	c.total += stood
	for w := range c.timers {
		w.deadline = w.deadline.Add(stood)
		w.arm()
	}
}

// stood is how long the clock has stood still.
func (c *workClock) stood() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.total
	if c.paused > 0 {
		d += time.Since(c.since)
	}
	return d
}

// workCtx is a context whose deadline runs on a workClock.
type workCtx struct {
	parent context.Context
	clock  *workClock
	done   chan struct{}
	// Under clock.mu: the deadline (while paused, as it was when the
	// pause began), the timer and its generation (a stopped timer's late
	// call is ignored).
	deadline time.Time
	timer    *time.Timer
	gen      int
	// Under mu.
	mu         sync.Mutex
	err        error
	stopParent func() bool
}

// arm starts w's timer for its deadline; under clock.mu.
func (w *workCtx) arm() {
	w.disarm()
	gen := w.gen
	w.timer = time.AfterFunc(time.Until(w.deadline), func() {
		w.clock.mu.Lock()
		due := gen == w.gen && w.clock.paused == 0
		w.clock.mu.Unlock()
		if due {
			w.end(context.DeadlineExceeded)
		}
	})
}

// disarm stops w's timer; under clock.mu.
func (w *workCtx) disarm() {
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
	}
}

// end ends w with err, once.
func (w *workCtx) end(err error) {
	w.clock.mu.Lock()
	if _, live := w.clock.timers[w]; live {
		delete(w.clock.timers, w)
		w.disarm()
	}
	w.clock.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	w.err = err
	close(w.done)
	if w.stopParent != nil {
		w.stopParent()
	}
}

// Deadline is the earlier of w's own, moved on by a pause under way,
// and its parent's.
func (w *workCtx) Deadline() (time.Time, bool) {
	w.clock.mu.Lock()
	d := w.deadline
	if w.clock.paused > 0 {
		d = d.Add(time.Since(w.clock.since))
	}
	w.clock.mu.Unlock()
	if pd, ok := w.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

func (w *workCtx) Done() <-chan struct{} { return w.done }

func (w *workCtx) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *workCtx) Value(key any) any { return w.parent.Value(key) }
