package probes_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestHostLoadSeesSaturatedCPUs: with twice as many threads spinning as
// there are CPUs for a second (the injected truth: some runnable thread
// waits the whole time), the meter reads a task waiting for a CPU
// nearly all the time.
func TestHostLoadSeesSaturatedCPUs(t *testing.T) {
	if !probes.StartHostLoad().Stop().Known {
		testenv.Unavailable(t, "no CPU pressure stall information (/proc/pressure/cpu) on this kernel")
	}
	n := 2 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	// The meter runs only while every thread spins: not while they start
	// or end.
	var (
		started, wg sync.WaitGroup
		done        atomic.Bool
	)
	started.Add(n)
	for range n {
		wg.Go(func() {
			started.Done()
			for !done.Load() {
			}
		})
	}
	started.Wait()
	meter := probes.StartHostLoad()
	time.Sleep(time.Second)
	h := meter.Stop()
	done.Store(true)
	wg.Wait()
	if !h.Known || h.WaitPct < 80 || h.WaitPct > 100 || h.Took < time.Second {
		t.Errorf("%d threads spinning on %d CPUs: %s (wait %.1f %%), want a task waiting nearly all the time", n, runtime.NumCPU(), h, h.WaitPct)
	}
}
