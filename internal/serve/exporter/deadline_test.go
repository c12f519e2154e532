package exporter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// stragglingCatalog is the catalog with stun.udp made a check that
// ignores its deadline: it returns only when the test ends.
func stragglingCatalog(t *testing.T) []*checks.Check {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	catalog := checks.Catalog()
	for _, c := range catalog {
		if c.ID == "stun.udp" {
			c.Run = func(context.Context, checks.Subject, *checks.Plan) probes.Measurement {
				<-stop
				return probes.Measurement{}
			}
		}
	}
	return catalog
}

// A probe whose check ignores its deadline still answers before
// Prometheus gives up: the deadline the exporter gives the run leaves room
// for the runner's grace for stragglers inside the scrape timeout minus
// the offset (issue #23, bug 9), whether the scrape timeout or the
// module's timeout decides it.
func TestStragglerAnswersWithinScrapeTimeout(t *testing.T) {
	silent := netlab.SilentUDP(t)
	for _, tt := range []struct {
		timeout, scrape string
	}{
		{"30s", "2"},   // the scrape timeout decides
		{"1s", "1.5"},  // the module's timeout, plus the grace, is longer than the scrape timeout allows
		{"1s", "2.25"}, // the module's timeout fits, and part of the grace
		{"1s", "3"},    // the module's timeout and the whole grace fit
	} {
		f := newFixture(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    timeout: %s
    check_timeout: 20s
    allowed_targets: [%q]
`, tt.timeout, silent), Options{TimeoutOffset: 500 * time.Millisecond, Catalog: stragglingCatalog(t)})
		start := time.Now()
		code, body := f.get(probe("slow", "stun:"+silent, "&debug=true"), scrapeTimeoutHeader, tt.scrape)
		took := time.Since(start)
		if code != 200 || !strings.Contains(body, "did not stop at its deadline") {
			t.Errorf("timeout %s, scrape timeout %ss: %d\n%s", tt.timeout, tt.scrape, code, body)
		}
		// The requirement is the scrape timeout; the answer is due by the
		// scrape timeout minus the offset, which a busy machine may miss.
		var scrape float64
		fmt.Sscan(tt.scrape, &scrape)
		if limit := time.Duration(scrape * float64(time.Second)); took >= limit {
			t.Errorf("timeout %s, scrape timeout %ss: answered after %s, after Prometheus gave up", tt.timeout, tt.scrape, took)
		} else {
			t.Logf("timeout %s, scrape timeout %ss: answered after %s (due by %s)", tt.timeout, tt.scrape, took, limit-500*time.Millisecond)
		}
	}
}

// The deadline and the grace fit the scrape timeout minus the offset
// together, for any scrape timeout, module timeout and offset; the checks
// get a deadline, and a header long enough leaves the module's timeout
// and the whole grace.
func TestDeadlineCountsTheGrace(t *testing.T) {
	for _, module := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second, 30 * time.Second} {
		for _, offset := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second} {
			for _, scrape := range []float64{0.001, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 10, 60, 1e308} {
				d := deadline(module, scrape, offset)
				budget := time.Duration(min(scrape, 1e6) * float64(time.Second))
				budget = max(budget-offset, budget/2)
				switch {
				case d.limit <= 0 || d.grace <= 0 || d.limit > module:
					t.Errorf("module %s, offset %s, scrape %vs: deadline %s, grace %s", module, offset, scrape, d.limit, d.grace)
				case d.limit+d.grace > budget:
					t.Errorf("module %s, offset %s, scrape %vs: deadline %s + grace %s > %s", module, offset, scrape, d.limit, d.grace, budget)
				case scrape >= (module+checks.StragglerGrace+offset).Seconds() && (d.limit != module || d.grace != checks.StragglerGrace):
					t.Errorf("module %s, offset %s, scrape %vs: deadline %s, grace %s; want the module's and the runner's", module, offset, scrape, d.limit, d.grace)
				}
			}
		}
		if d := deadline(module, 0, time.Second); d.limit != module || d.grace != checks.StragglerGrace {
			t.Errorf("no header: deadline %s, grace %s", d.limit, d.grace)
		}
	}
}
