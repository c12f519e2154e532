package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkPutSQLitePaced: results arrive at 1,000 a minute (one every
// 60 ms, each stored on its own goroutine as the server's handlers do)
// for 15 s; reported are the write latencies' median, p95 and maximum.
// Each report is about 24 KiB of JSON, the size of a real page's.
func BenchmarkPutSQLitePaced(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "results.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	checks := map[string]string{}
	for i := range 15 {
		checks[fmt.Sprintf("browser.check%d", i)] = "pass"
	}
	rep := report(checks)
	rep = append(rep[:len(rep)-1], []byte(`,"padding":"`+strings.Repeat("x", 24<<10)+`"}`)...)
	const interval, span = 60 * time.Millisecond, 15 * time.Second
	for b.Loop() {
		var (
			mu   sync.Mutex
			took []time.Duration
			wg   sync.WaitGroup
		)
		tick := time.NewTicker(interval)
		end := time.Now().Add(span)
		for time.Now().Before(end) {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := Result{ID: rand.Text(), Created: time.Now(), Verdict: "pass", Browser: "Firefox 153.0", OS: "Linux", Client: "192.0.2.0/24",
					Checks: checks, Report: rep}
				start := time.Now()
				if err := s.Put(context.Background(), r); err != nil {
					b.Error(err)
				}
				mu.Lock()
				took = append(took, time.Since(start))
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		slices.Sort(took)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(float64(len(took)), "writes")
		b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
		b.ReportMetric(ms(took[len(took)*95/100]), "p95-ms")
		b.ReportMetric(ms(took[len(took)-1]), "max-ms")
	}
}
