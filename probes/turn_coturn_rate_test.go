package probes_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestCoturnProbedAtRate: a healthy coturn probed by the exporter's
// turn_udp module (5 packets 1 ms apart, no IPv6 allocation) many times
// at once reads healthy every time. coturn keeps a released allocation
// a second or two longer, and a socket of ours given its source port in
// that time was refused with 437 (wrong transaction ID), on the first or
// the second allocation, even after the retry from a fresh port: about
// 0.7 % of these probes failed so before released sockets held their
// port (turn_release.go).
func TestCoturnProbedAtRate(t *testing.T) {
	if testing.Short() {
		t.Skip("1500 TURN probes against coturn")
	}
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p"})
	target := probes.Target{Server: mustServer(t, ct.URI("turn", "127.0.0.1", ct.Port), "u", "p"), Transport: probes.UDP}
	cfg := probes.TURNConfig{Packets: 5, Interval: time.Millisecond, SkipIPv6: true}
	rss0, _ := ct.RSS()
	// More than the ephemeral ports could spread without collisions at
	// this rate (thousands of allocations a second), in a few seconds.
	const n, concurrency = 1500, 48
	var (
		mu    sync.Mutex
		fails = map[string]int{}
		wg    sync.WaitGroup
		sem   = make(chan struct{}, concurrency)
	)
	start := time.Now()
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			// A scrape's deadline: Prometheus' 10 s less the offset.
			ctx, cancel := context.WithTimeout(context.Background(), 9500*time.Millisecond)
			defer cancel()
			if m := probes.TURN(ctx, target, cfg); m.Err != nil {
				mu.Lock()
				fails[m.Err.Error()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rss1, _ := ct.RSS()
	t.Logf("%d turn_udp probes, %d at once, in %s; coturn RSS %d → %d MiB", n, concurrency, time.Since(start).Round(time.Millisecond), rss0>>20, rss1>>20)
	var why []string
	for k := range fails {
		why = append(why, k)
	}
	sort.Strings(why)
	for _, k := range why {
		t.Errorf("%d probe(s) failed: %s", fails[k], k)
	}
}
