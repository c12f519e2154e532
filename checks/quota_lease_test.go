package checks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// quotaUse counts the runs that hold a quota lease for good (past
// probes.HoldQuota), and the most that ever did at once.
type quotaUse struct {
	now, most atomic.Int32
}

func (q *quotaUse) hold() {
	n := q.now.Add(1)
	for m := q.most.Load(); n > m && !q.most.CompareAndSwap(m, n); m = q.most.Load() {
	}
}

// leaseRun lends the quota, waits silence (nothing authenticated sent),
// then, unless it gives up there, takes the quota back and works for work.
func leaseRun(q *quotaUse, silence, work time.Duration) func(context.Context, Subject) probes.Measurement {
	return func(ctx context.Context, s Subject) probes.Measurement {
		probes.LendQuota(ctx)
		select {
		case <-time.After(silence):
		case <-ctx.Done():
			return probes.Failed(ctx.Err())
		}
		if work == 0 {
			return probes.Failed(errors.New("no answer"))
		}
		if err := probes.HoldQuota(ctx); err != nil {
			return probes.Failed(err)
		}
		q.hold()
		defer q.now.Add(-1)
		return workFor(work)(ctx, s)
	}
}

func quotaCheck(id string, timeout time.Duration, run func(context.Context, Subject) probes.Measurement) *Check {
	c := fakeCheck(id, 1, run)
	c.Timeout, c.Serial = timeout, func(Subject) string { return "quota" }
	return c
}

// TestQuotaLeaseAdmitsNext: a check waiting on silence lends its key, so
// the next check of the same key starts and ends while it waits.
func TestQuotaLeaseAdmitsNext(t *testing.T) {
	var q quotaUse
	p := &Plan{Checks: []*Check{
		quotaCheck("q.silent", time.Second, leaseRun(&q, 600*time.Millisecond, 0)),
		quotaCheck("q.answered", time.Second, leaseRun(&q, 0, 100*time.Millisecond)),
	}}
	p.Settings.Concurrency = 8
	rs := Run(context.Background(), p, nil)
	silent, answered := rs[0], rs[1]
	if answered.Status != Pass || answered.Ended > silent.Ended {
		t.Errorf("the answered check %s %v–%v, want it passed before the silent one ended (%v)",
			answered.Status, answered.Started, answered.Ended, silent.Ended)
	}
}

// TestQuotaLeaseReclaimWaits: a check taking its lent key back waits
// while another holds it, and that wait is not its deadline's: it waits
// about 250 ms and works 300 ms under a 450 ms deadline, and passes; its
// duration is its work. No two checks ever hold the key at once.
func TestQuotaLeaseReclaimWaits(t *testing.T) {
	var q quotaUse
	p := &Plan{Checks: []*Check{
		quotaCheck("q.first", 450*time.Millisecond, leaseRun(&q, 50*time.Millisecond, 300*time.Millisecond)),
		quotaCheck("q.second", 450*time.Millisecond, leaseRun(&q, 0, 300*time.Millisecond)),
	}}
	p.Settings.Concurrency = 8
	r := byID(t, Run(context.Background(), p, nil))
	first, second := r["q.first"], r["q.second"]
	if first.Ended < second.Ended+250*time.Millisecond {
		t.Errorf("q.first ended at %v, q.second at %v: q.first did not wait for the key q.second held", first.Ended, second.Ended)
	}
	if span := first.Ended - first.Started; span < 450*time.Millisecond || first.Duration >= 450*time.Millisecond || first.Duration < 300*time.Millisecond {
		t.Errorf("q.first ran %v and worked %v, want longer than its deadline, and its work alone (the wait left out) shorter", span, first.Duration)
	}
	if m := q.most.Load(); m != 1 {
		t.Errorf("%d checks held the key at once, want 1", m)
	}
}

// TestQuotaLeaseEndReleases: whoever holds the key at its end gives it
// back, taken back or never lent: every check of the key runs, one
// holder at a time, long before the run's deadline.
func TestQuotaLeaseEndReleases(t *testing.T) {
	var q quotaUse
	p := &Plan{Checks: []*Check{
		quotaCheck("q.a", time.Second, leaseRun(&q, 20*time.Millisecond, 100*time.Millisecond)),
		quotaCheck("q.b", time.Second, leaseRun(&q, 20*time.Millisecond, 100*time.Millisecond)),
		quotaCheck("q.c", time.Second, workFor(100*time.Millisecond)), // never lends
		quotaCheck("q.d", time.Second, leaseRun(&q, 20*time.Millisecond, 100*time.Millisecond)),
	}}
	p.Settings.Concurrency = 8
	p.Settings.Timeout = 5 * time.Second
	began := time.Now()
	byID(t, Run(context.Background(), p, nil))
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the run took %v: a key was not given back at a job's end", took)
	}
	if m := q.most.Load(); m != 1 {
		t.Errorf("%d checks held the key at once, want 1", m)
	}
}

// TestSchedulerReclaim drives the scheduler's lease directly: a lent key
// admits the next ticket; reclaim waits for its release and comes before
// a ticket still waiting; a reclaim given up leaves the key free.
func TestSchedulerReclaim(t *testing.T) {
	s := newScheduler(8)
	j := Job{Check: &Check{ID: "x"}}
	a, b, c := s.enqueue(j, 0, "k"), s.enqueue(j, 1, "k"), s.enqueue(j, 2, "k")
	ctx := context.Background()
	if !s.acquire(ctx, a) {
		t.Fatal("a not granted")
	}
	var wg sync.WaitGroup
	bGranted := make(chan struct{})
	wg.Go(func() {
		if s.acquire(ctx, b) {
			close(bGranted)
		}
	})
	wg.Go(func() { s.acquire(ctx, c) })
	select {
	case <-bGranted:
		t.Fatal("b granted while a holds the key")
	case <-time.After(50 * time.Millisecond):
	}
	s.lend(a)
	<-bGranted
	reclaimed := make(chan error, 1)
	go func() { reclaimed <- s.reclaim(ctx, a) }()
	select {
	case err := <-reclaimed:
		t.Fatalf("a took the key back while b held it: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.release(b)
	if err := <-reclaimed; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	cGranted := c.isGranted
	s.mu.Unlock()
	if cGranted {
		t.Fatal("c, waiting for admission, took the key before a took it back")
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	s.lend(a)
	wg.Wait() // c is admitted with the key a lent
	if err := s.reclaim(short, a); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reclaim while c holds the key: %v, want the deadline", err)
	}
	s.release(c)
	s.release(a) // a holds nothing: its end must not free c's key twice
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serial["k"] || len(s.reclaiming) != 0 || s.free != 8 {
		t.Errorf("after every end: key held %v, reclaiming %d, free slots %d", s.serial["k"], len(s.reclaiming), s.free)
	}
}
