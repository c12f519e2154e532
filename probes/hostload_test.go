package probes_test

import (
	"net"
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

// TestHostLoadCountsUDPDrops: datagrams this machine's kernel drops for a
// full socket receive buffer (a socket not read in time) are counted, over
// IPv4 and IPv6: 200 datagrams of 1,000 bytes to a socket with the
// smallest buffer the kernel allows, never read, leave most of them
// dropped.
func TestHostLoadCountsUDPDrops(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		host := map[string]string{"udp4": "127.0.0.1:0", "udp6": "[::1]:0"}[network]
		rx, err := net.ListenPacket(network, host)
		if err != nil {
			if network == "udp6" {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		defer rx.Close()
		if err := rx.(*net.UDPConn).SetReadBuffer(1); err != nil {
			t.Fatal(err)
		}
		tx, err := net.DialUDP(network, nil, rx.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		meter := probes.StartHostLoad()
		payload := make([]byte, 1000)
		for range 200 {
			if _, err := tx.Write(payload); err != nil {
				t.Fatal(err)
			}
		}
		h := meter.Stop()
		if !h.DropsKnown || h.UDPDrops < 150 {
			t.Errorf("%s: 200 datagrams to a full buffer: %d drops counted (known %v), want at least 150", network, h.UDPDrops, h.DropsKnown)
		}
	}
}
