package checks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Runs asking for the same key share one measurement; at most limit run
// at once; a waiter whose deadline passes gives up alone.
func TestMemo(t *testing.T) {
	m := NewMemo(2)
	var calls, running, most atomic.Int32
	measure := func(context.Context) any {
		calls.Add(1)
		n := running.Add(1)
		for {
			old := most.Load()
			if n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // stands for a call's media
		running.Add(-1)
		return "measured"
	}
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, ok := m.Do(context.Background(), string(rune('a'+i/2)), measure)
			if !ok || v != "measured" {
				t.Errorf("got %v %v", v, ok)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 6 || most.Load() > 2 {
		t.Errorf("%d measurements (want 6), %d at once (want at most 2)", calls.Load(), most.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	go m.Do(context.Background(), "slow", func(context.Context) any { close(started); <-release; return 1 })
	<-started
	cancel()
	if _, ok := m.Do(ctx, "slow", measure); ok {
		t.Error("a waiter past its deadline got a value")
	}
	close(release)
	if v, ok := (*Memo)(nil).Do(context.Background(), "x", measure); !ok || v != "measured" {
		t.Errorf("nil memo: %v %v", v, ok)
	}
}
