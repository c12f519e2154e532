package netsim

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler sends datagrams at their due times, earliest first (ties in
// the order they were queued), from one goroutine: one timer wake-up per
// datagram at most, and no reordering beyond what the due times ask for.
type scheduler struct {
	mu      sync.Mutex
	pending pendingHeap
	seq     uint64
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

type pendingSend struct {
	due  time.Time
	seq  uint64
	send func()
}

func newScheduler() *scheduler {
	s := &scheduler{wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.wg.Add(1)
	go s.run()
	return s
}

// at runs send at due (or as soon after as the machine allows). After
// close it does nothing.
func (s *scheduler) at(due time.Time, send func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.seq++
	heap.Push(&s.pending, pendingSend{due: due, seq: s.seq, send: send})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close drops what is still queued and ends the goroutine.
func (s *scheduler) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.pending = nil
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
}

func (s *scheduler) run() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var wait time.Duration = -1
		var next func()
		if len(s.pending) > 0 {
			if d := time.Until(s.pending[0].due); d > 0 {
				wait = d
			} else {
				next = heap.Pop(&s.pending).(pendingSend).send
			}
		}
		s.mu.Unlock()
		if next != nil {
			next()
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-s.wake:
			timer.Stop() // Go 1.23 timers: nothing stale is left to drain
		case <-s.done:
			return
		}
	}
}

type pendingHeap []pendingSend

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pendingSend)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
