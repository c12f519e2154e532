package checks

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// stragglerGrace is how long the runner waits past the run's deadline for
// a probe that ignores its context before giving up on it.
const stragglerGrace = time.Second

// Run executes the plan: every (check, subject) pair, concurrently up to
// p.Concurrency, each under its own deadline inside the run's deadline.
// Results come back in catalogue order, then subject order, however the
// runs finish. Exclusive checks run after all the others, one at a time.
// onResult, when set, sees each result as it completes (for
// progress output); it is called from one goroutine at a time.
func Run(ctx context.Context, p *Plan, onResult func(Result)) []Result {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	type job struct {
		check   *Check
		subject Subject
		serial  chan struct{} // held while running, shared by equal Serial keys
	}
	var (
		jobs   []job
		serial = map[string]chan struct{}{}
	)
	for _, c := range p.Checks {
		for _, s := range c.Subjects(p) {
			j := job{check: c, subject: s}
			if c.Serial != nil {
				if key := c.Serial(s); key != "" {
					if serial[key] == nil {
						serial[key] = make(chan struct{}, 1)
					}
					j.serial = serial[key]
				}
			}
			jobs = append(jobs, j)
		}
	}
	limit := p.Concurrency
	if limit <= 0 {
		limit = 8
	}
	results := make([]Result, len(jobs))
	done := make([]bool, len(jobs))
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, limit)
	)
	var (
		shared     sync.WaitGroup // the jobs that are not exclusive
		sharedDone = make(chan struct{})
		alone      sync.Mutex // held by the exclusive job that runs
	)
	finished := make(chan struct{})
	for i, j := range jobs {
		wg.Add(1)
		if !j.check.Exclusive {
			shared.Add(1)
		}
		go func() {
			defer wg.Done()
			if j.check.Exclusive {
				select {
				case <-sharedDone:
				case <-ctx.Done():
				}
				alone.Lock()
				defer alone.Unlock()
			} else {
				defer shared.Done()
				if j.serial != nil {
					select {
					case j.serial <- struct{}{}:
						defer func() { <-j.serial }()
					case <-ctx.Done():
					}
				}
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
				}
			}
			r := runOne(ctx, p, j.check, j.subject)
			mu.Lock()
			defer mu.Unlock()
			if done[i] {
				return // already given up on as a straggler
			}
			results[i], done[i] = r, true
			if onResult != nil {
				onResult(r)
			}
		}()
	}
	go func() { shared.Wait(); close(sharedDone) }()
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		select {
		case <-finished:
		case <-time.After(stragglerGrace):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, j := range jobs {
		if !done[i] {
			done[i] = true
			results[i] = Result{CheckID: j.check.ID, Title: j.check.Title, Target: j.subject.Name, Status: Error,
				Error: "the check did not stop at its deadline (a bug in rtcprobe)"}
		}
	}
	annotateTURNTransports(results)
	return results
}

// runOne runs one check on one subject under its deadline and judges it.
// A panic in a probe becomes an error result, not a crash.
func runOne(ctx context.Context, p *Plan, c *Check, s Subject) (r Result) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return c.Judge(s, probes.Failed(fmt.Errorf("not started: the run's --timeout expired first")), 0, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeoutFor(c))
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			m := probes.Failed(fmt.Errorf("%w: panic in %s: %v", errInternal, c.ID, v))
			m.AddEvidence("stack", string(debug.Stack()))
			r = c.Judge(s, m, time.Since(start), nil)
		}
	}()
	m := c.Run(ctx, s, p)
	return c.Judge(s, m, time.Since(start), p.ThresholdsFor(c))
}
