package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// StragglerGrace is how long the runner waits past the run's deadline for
// a probe that ignores its context before giving up on it, unless the
// plan sets its own (Plan.StragglerGrace): a run answers by its deadline
// plus the grace.
const StragglerGrace = time.Second

// Run executes the plan: every (check, subject) pair, concurrently up to
// p.Concurrency, each under its own deadline inside the run's deadline.
// Results come back in catalogue order, then subject order, however the
// runs finish. Exclusive checks run after all the others, one at a time.
// onResult, when set, sees each result as it completes (for
// progress output); it is called from one goroutine at a time.
func Run(ctx context.Context, p *Plan, onResult func(Result)) []Result {
	if p.Settings.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Settings.Timeout)
		defer cancel()
	}
	begun := time.Now()
	jobs := p.Jobs()
	limit := p.Settings.Concurrency
	if limit <= 0 {
		limit = 8
	}
	results := make([]Result, len(jobs))
	done := make([]bool, len(jobs))
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		sched = newScheduler(limit)
		ranks = jobRanks(jobs)
	)
	var (
		shared     sync.WaitGroup // the jobs that are not exclusive
		sharedDone = make(chan struct{})
		alone      sync.Mutex // held by the exclusive job that runs
	)
	tickets := make([]*ticket, len(jobs))
	for i, j := range jobs {
		if !j.Check.Exclusive {
			var key string
			if j.Check.Serial != nil {
				key = j.Check.Serial(j.Subject)
			}
			tickets[i] = sched.enqueue(j, ranks[i], key)
		}
	}
	finished := make(chan struct{})
	for i, j := range jobs {
		wg.Add(1)
		if !j.Check.Exclusive {
			shared.Add(1)
		}
		go func() {
			defer wg.Done()
			runCtx := ctx
			if j.Check.Exclusive {
				select {
				case <-sharedDone:
				case <-ctx.Done():
				}
				alone.Lock()
				defer alone.Unlock()
			} else {
				defer shared.Done()
				t := tickets[i]
				// The browser starts before the check's turn, the job
				// holding nothing; a browser that cannot start is the
				// check's to report.
				if needsBrowser(j) {
					_, _ = j.Subject.Browser.Get(ctx)
				}
				if sched.acquire(ctx, t) {
					defer sched.release(t)
					if t.camera != nil {
						runCtx = browser.WithCameraHeld(ctx, j.Check.Page)
					}
					if t.serial != "" {
						clock := newWorkClock()
						runCtx = withWorkClock(runCtx, clock)
						runCtx = probes.WithQuotaLease(runCtx, &jobLease{sched: sched, t: t, clock: clock})
					}
				}
			}
			started := time.Since(begun)
			r := runOne(runCtx, p, j.Check, j.Subject)
			r.Started, r.Ended = started, time.Since(begun)
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
		case <-time.After(cmp.Or(p.StragglerGrace, StragglerGrace)):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, j := range jobs {
		if !done[i] {
			done[i] = true
			results[i] = Result{CheckID: j.Check.ID, Title: j.Check.Title, Target: j.Subject.Name, Subject: j.Subject.Kept(), Status: Error,
				Error: "the check did not stop at its deadline (a bug in rtcprobe)"}
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		markInterrupted(results)
	}
	across(p, results)
	return results
}

// Job is one run of a check on one subject.
type Job struct {
	Check   *Check
	Subject Subject
}

// Jobs expands the plan's checks into the runs it makes, in report order.
func (p *Plan) Jobs() []Job {
	var jobs []Job
	for _, c := range p.Checks {
		for _, s := range c.Subjects(p) {
			jobs = append(jobs, Job{c, s})
		}
	}
	return jobs
}

// markInterrupted turns what an interruption cut short into skips that
// say so: a check stopped by Ctrl-C did not find a network problem.
func markInterrupted(results []Result) {
	for i := range results {
		if r := &results[i]; r.Status == Fail || r.Status == Error {
			r.Status, r.Interrupted, r.Broken, r.Advice = Skip, true, nil, ""
			r.Error = "interrupted before it finished"
		}
	}
}

// across lets each check with an Across rule look at the whole run.
func across(p *Plan, results []Result) {
	for _, c := range p.Checks {
		if c.Across == nil {
			continue
		}
		var mine []*Result
		for i := range results {
			if results[i].CheckID == c.ID {
				mine = append(mine, &results[i])
			}
		}
		c.Across(mine, results)
	}
}

// errNotStarted: the run's deadline came before the check's turn.
var errNotStarted = errors.New("not started: the run's deadline expired first")

// worked is how long the job under ctx has worked since start: the time
// its clock stood still (waiting for a quota key another job held) is
// not its own.
func worked(ctx context.Context, start time.Time) time.Duration {
	if c, _ := ctx.Value(workClockKey{}).(*workClock); c != nil {
		return time.Since(start) - c.stood()
	}
	return time.Since(start)
}

// runOne runs one check on one subject under its deadline and judges it.
// A panic in a probe becomes an error result, not a crash.
func runOne(ctx context.Context, p *Plan, c *Check, s Subject) (r Result) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return c.Judge(s, probes.Failed(errNotStarted), 0, nil)
	}
	ctx, cancel := withWorkTimeout(ctx, p.timeoutFor(c))
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			m := probes.Failed(fmt.Errorf("%w: panic in %s: %v", errInternal, c.ID, v))
			m.AddEvidence("stack", string(debug.Stack()))
			r = c.Judge(s, m, worked(ctx, start), nil)
		}
	}()
	ctx, log := probes.Recording(ctx)
	load := probes.StartHostLoad()
	m := c.Run(ctx, s, p)
	m.Host = load.Stop()
	m.Observations = append(log.Take(m.Err), m.Observations...)
	return c.Judge(s, m, worked(ctx, start), p.ThresholdsFor(c))
}

// jobLease is a running job's serial key as the probes see it
// (probes.QuotaLease): lent to the jobs waiting for it, and taken back
// with the job's clock stopped, so the wait is not counted against its
// deadline (the run's deadline still bounds it).
type jobLease struct {
	sched *scheduler
	t     *ticket
	clock *workClock
}

func (l *jobLease) Lend() { l.sched.lend(l.t) }

func (l *jobLease) Reclaim(ctx context.Context) error {
	l.clock.pause()
	defer l.clock.resume()
	return l.sched.reclaim(ctx, l.t)
}
