package probes_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testenv"
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
	meter := probes.StartHostLoad()
	stop := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
			}
		}()
	}
	wg.Wait()
	h := meter.Stop()
	if !h.Known || h.WaitPct < 80 || h.WaitPct > 100 || h.Took < time.Second {
		t.Errorf("%d threads spinning on %d CPUs: %s (wait %.1f %%), want a task waiting nearly all the time", n, runtime.NumCPU(), h, h.WaitPct)
	}
}
