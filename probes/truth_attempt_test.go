package probes_test

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// The machine the tests run on has two cores shared with other work: a
// stall of this process shows up in a call as RTT and jitter nobody
// injected. So each attempt starts once the machine has been quiet for a
// second (waiting at most quietWait), and a truth check that fails while
// an independent monitor saw a stall is run again (at most truthAttempts
// in all); a failure on a quiet machine, or on the last attempt, stands.
// A wrong number is wrong on every attempt, so this never excuses one.
// The mutant check (internal/testkit/mutants) sets RTCPROBE_TRUTH_ATTEMPTS=1: a
// deliberately wrong variant must fail its first attempt, which starts on
// a quiet machine too.
const (
	truthAttempts = 5
	// stallLimit is how late a 1 ms timer of this process may wake before
	// the attempt counts as disturbed.
	stallLimit = 10 * time.Millisecond
	// quietLimit is the most a 1 ms timer may wake late for a second to
	// count as quiet; quietWait bounds the wait for one.
	quietLimit = 3 * time.Millisecond
	quietWait  = time.Minute
)

// checker collects the failed comparisons of one attempt.
type checker struct {
	t        *testing.T
	failures []string
}

// within checks that got is in [lo, hi], logging the comparison.
func (c *checker) within(name string, got, lo, hi float64, why string) {
	c.t.Helper()
	if math.IsNaN(got) || got < lo || got > hi {
		c.failures = append(c.failures, fmt.Sprintf("%s = %.3f, want %.3f..%.3f (%s)", name, got, lo, hi, why))
		return
	}
	c.t.Logf("%s = %.3f in %.3f..%.3f (%s)", name, got, lo, hi, why)
}

// failf records a failed check.
func (c *checker) failf(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// attempt runs check until it passes, or fails on a quiet machine, or
// truthAttempts are used up; then reports its failures.
func attempt(t *testing.T, check func(c *checker)) {
	t.Helper()
	testenv.Heavy(t, "real-time simulated calls (make truth)")
	attempts := truthAttempts
	if n, err := strconv.Atoi(os.Getenv("RTCPROBE_TRUTH_ATTEMPTS")); err == nil && n > 0 {
		attempts = n
	}
	for i := 1; ; i++ {
		waitQuiet(t)
		mon := startStallMonitor()
		c := &checker{t: t}
		check(c)
		worst := mon.stop()
		if len(c.failures) == 0 {
			return
		}
		if worst <= stallLimit || i >= attempts {
			for _, f := range c.failures {
				t.Error(f)
			}
			if worst > stallLimit {
				t.Logf("(this process stalled for up to %s during attempt %d)", worst, i)
			}
			return
		}
		t.Logf("attempt %d disturbed (a timer woke %s late) and failed: %v; again", i, worst, c.failures)
	}
}

// waitQuiet returns after a second in which this process's timers woke on
// time, or after quietWait.
func waitQuiet(t *testing.T) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < quietWait {
		mon := startStallMonitor()
		time.Sleep(time.Second) // the monitor samples meanwhile
		if mon.stop() <= quietLimit {
			break
		}
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Logf("waited %s for a quiet machine", waited.Round(time.Second))
	}
}

// stallMonitor measures how late a 1 ms sleep of this process wakes.
type stallMonitor struct {
	worst atomic.Int64
	done  chan struct{}
	wg    sync.WaitGroup
}

func startStallMonitor() *stallMonitor {
	m := &stallMonitor{done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			start := time.Now()
			select {
			case <-m.done:
				return
			case <-time.After(time.Millisecond):
			}
			if late := int64(time.Since(start) - time.Millisecond); late > m.worst.Load() {
				m.worst.Store(late)
			}
		}
	}()
	return m
}

// stop ends the monitor and returns the worst lateness it saw.
func (m *stallMonitor) stop() time.Duration {
	close(m.done)
	m.wg.Wait()
	return time.Duration(m.worst.Load())
}
