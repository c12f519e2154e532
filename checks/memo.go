package checks

import (
	"context"
	"sync"
)

// Memo shares one measurement between the runs of a plan that need the
// same one: the two directions of an interop codec call are two results
// of one call. A plan without a Memo measures each time.
type Memo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
	// slots bounds the measurements running at once (nil: no bound).
	slots chan struct{}
}

type memoEntry struct {
	done chan struct{}
	val  any
}

// NewMemo makes a memo that runs at most limit measurements at once (0:
// any number).
func NewMemo(limit int) *Memo {
	m := &Memo{entries: map[string]*memoEntry{}}
	if limit > 0 {
		m.slots = make(chan struct{}, limit)
	}
	return m
}

// Run measures once a slot is free, without sharing the measurement
// (ok false: ctx ended first).
func (m *Memo) Run(ctx context.Context, measure func(context.Context) any) (v any, ok bool) {
	if m == nil || m.slots == nil {
		return measure(ctx), true
	}
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	case <-ctx.Done():
		return nil, false
	}
	return measure(ctx), true
}

// Do returns the value measured for key: the first caller measures (with
// its ctx, once a slot is free), the others wait for it or for their own
// ctx to end, which makes them measure nothing and get ok false.
func (m *Memo) Do(ctx context.Context, key string, measure func(context.Context) any) (v any, ok bool) {
	if m == nil {
		return measure(ctx), true
	}
	m.mu.Lock()
	e, found := m.entries[key]
	if !found {
		e = &memoEntry{done: make(chan struct{})}
		m.entries[key] = e
	}
	m.mu.Unlock()
	if !found {
		defer close(e.done)
		if m.slots != nil {
			select {
			case m.slots <- struct{}{}:
				defer func() { <-m.slots }()
			case <-ctx.Done():
				e.val = nil
				return nil, false
			}
		}
		e.val = measure(ctx)
		return e.val, true
	}
	select {
	case <-e.done:
		return e.val, e.val != nil
	case <-ctx.Done():
		return nil, false
	}
}
