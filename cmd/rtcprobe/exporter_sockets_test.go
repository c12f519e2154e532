package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
)

// TestExporterLeavesCoturnAsItWas: rtcprobe serve's stun_udp module
// scraped 1,000 times, 4 at once, reads a healthy coturn as healthy every
// time and leaves it as it was. coturn keeps a session of about 18 KiB
// for each client address, and keeps the memory: with a fresh socket per
// probe its RSS grew by 18 MiB here.
func TestExporterLeavesCoturnAsItWas(t *testing.T) {
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p"})
	cfg := writeConfig(t, "modules:\n  stun_udp:\n    checks: [stun.udp]\n    allowed_targets: [\"127.0.0.1\"]\n")
	srv := startServe(t, nil, "--config", cfg)
	path := probePath("stun_udp", fmt.Sprintf("stun:127.0.0.1:%d", ct.Port))
	if code, body := srv.get(t, path); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Fatalf("first probe: %d\n%s", code, body)
	}
	rss0, err := ct.RSS()
	if err != nil {
		t.Fatal(err)
	}
	const n, concurrency = 1000, 4 // a client address's share of /probe
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails int
		sem   = make(chan struct{}, concurrency)
	)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			code, body := srv.get(t, path)
			if code != 200 || !strings.Contains(body, "\nprobe_success 1\n") || !strings.Contains(body, "probe_stun_loss_ratio{check=\"stun.udp\",family=\"ipv4\",transport=\"udp\"} 0\n") {
				mu.Lock()
				if fails++; fails <= 3 {
					t.Errorf("probe: %d\n%s", code, body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rss1, err := ct.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d stun_udp probes through /probe, %d at once: %d unhealthy; coturn RSS %d → %d KiB", n, concurrency, fails, rss0>>10, rss1>>10)
	if grew := rss1 - rss0; grew > 3<<20 {
		t.Errorf("coturn's RSS grew %d KiB: the exporter's probes left sessions on it", grew>>10)
	}
}
