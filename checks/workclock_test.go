package checks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWorkClockPause: a deadline on a job's clock does not run while the
// clock stands still, and moves on by the pause; nested ones alike; the
// parent's end still ends them.
func TestWorkClockPause(t *testing.T) {
	clock := newWorkClock()
	parent, stop := context.WithCancel(context.Background())
	defer stop()
	ctx, cancel := withWorkTimeout(withWorkClock(parent, clock), 150*time.Millisecond)
	defer cancel()
	inner, cancelInner := withWorkTimeout(ctx, 100*time.Millisecond)
	defer cancelInner()
	before, _ := ctx.Deadline()
	clock.pause()
	time.Sleep(300 * time.Millisecond)
	if ctx.Err() != nil || inner.Err() != nil {
		t.Fatalf("a deadline ran out while the clock stood still: %v, %v", ctx.Err(), inner.Err())
	}
	clock.resume()
	after, _ := ctx.Deadline()
	if moved := after.Sub(before); moved < 300*time.Millisecond {
		t.Errorf("the deadline moved on by %v, want the pause's 300 ms", moved)
	}
	<-inner.Done()
	if !errors.Is(inner.Err(), context.DeadlineExceeded) {
		t.Errorf("inner: %v", inner.Err())
	}
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("outer: %v", ctx.Err())
	}

	again, cancelAgain := withWorkTimeout(withWorkClock(parent, clock), time.Hour)
	defer cancelAgain()
	stop()
	<-again.Done()
	if !errors.Is(again.Err(), context.Canceled) {
		t.Errorf("the parent's end: %v", again.Err())
	}
}
