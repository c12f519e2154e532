package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// BenchmarkLoadVsUclient runs `rtcprobe load` and coturn's own
// turnutils_uclient one after the other against the same coturn at the
// same nominal packet rate (C calls × 2 directions = 2C uclient clients
// paired client-to-client, each sending a 120-byte packet every 20 ms) and
// reports the relayed packets per second each delivered, their loss, the
// ratio and rtcprobe's own CPU. make bench runs it; the figures go in the
// README.
func BenchmarkLoadVsUclient(b *testing.B) {
	uclient := testenv.LookPath(b, "turnutils_uclient")
	ct := coturn.Start(b, coturn.Config{User: "u", Password: "p"})
	const (
		seconds = 5
		size    = 120
	)
	for _, calls := range []int{100, 200} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				rep := parseReport(b, exec.CommandContext(ctx, binary, "load", ct.URI("turn", "127.0.0.1", ct.Port), "--user", "u", "--password", "p",
					"--calls", fmt.Sprint(calls), "--load-duration", fmt.Sprintf("%ds", seconds), "--packet-size", fmt.Sprint(size),
					"--timeout", "2m", "--json", "-"))
				m := rep.Checks[0].Metrics
				u, err := runUclient(ctx, exec.CommandContext, uclient, ct.Port, 2*calls, seconds*50, size, 20*time.Millisecond)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				uPPS := 0.0
				if u.transmitSecs > 0 {
					uPPS = float64(u.received) / u.transmitSecs
				}
				// Only a rate delivered at ≤ 1 % loss counts.
				rPPS := m["relayed_pps"]
				if m["loss_pct"] > 1 {
					rPPS = 0
				}
				if u.lossPct > 1 {
					uPPS = 0
				}
				b.ReportMetric(rPPS, "rtcprobe_pps")
				b.ReportMetric(uPPS, "uclient_pps")
				if uPPS > 0 {
					b.ReportMetric(rPPS/uPPS, "ratio")
				}
				b.ReportMetric(m["loss_pct"], "rtcprobe_loss_pct")
				b.ReportMetric(u.lossPct, "uclient_loss_pct")
				b.ReportMetric(m["generator_cpu_pct"], "rtcprobe_cpu_pct")
				b.ReportMetric(m["calls_ok"], "calls_ok")
				b.Logf("%d calls: rtcprobe %v pps, loss %v%%, cpu %v%%, alloc p99 %v ms; uclient %d of %d messages in %vs (%.0f pps), loss %v%%",
					calls, m["relayed_pps"], m["loss_pct"], m["generator_cpu_pct"], m["alloc_p99_ms"], u.received, u.sent, u.transmitSecs, uPPS, u.lossPct)
			}
		})
	}
}

// BenchmarkLoadCapacity ramps `rtcprobe load --ramp` against coturn on
// loopback (10, 20, 40, … up to 2000 calls, 5 s each) and reports the
// capacity figure it finds, calls_held; then it runs the held count and
// twice that alone, reading coturn's CPU beside rtcprobe's: on a 2-core
// machine running both, that tells which of the two ran out first.
func BenchmarkLoadCapacity(b *testing.B) {
	ct := coturn.Start(b, coturn.Config{User: "u", Password: "p"})
	load := func(calls int, extra ...string) (binaryReport, float64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		args := append([]string{"load", ct.URI("turn", "127.0.0.1", ct.Port), "--user", "u", "--password", "p",
			"--calls", fmt.Sprint(calls), "--load-duration", "5s", "--json", "-"}, extra...)
		before, err := ct.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rep := parseReport(b, exec.CommandContext(ctx, binary, args...))
		after, err := ct.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		return rep, 100 * float64(after-before) / float64(time.Since(start))
	}
	for range b.N {
		rep, coturnCPU := load(2000, "--ramp")
		r := rep.Checks[0]
		held := r.Metrics["calls_held"]
		b.ReportMetric(held, "calls_held")
		b.Logf("ramp: %s, calls_held %v (coturn cpu %.0f%% over the whole ramp); %s", r.Status, held, coturnCPU, r.Error)
		for _, raw := range r.Series {
			var s struct{ Metrics map[string]float64 }
			if err := json.Unmarshal(raw, &s); err != nil {
				b.Fatal(err)
			}
			logStep(b, s.Metrics, -1)
		}
		for _, calls := range []int{int(held), 2 * int(held)} {
			if calls == 0 {
				continue
			}
			rep, coturnCPU := load(calls)
			logStep(b, rep.Checks[0].Metrics, coturnCPU)
		}
	}
}

// logStep logs one load step's figures; coturnCPU < 0 is unknown.
func logStep(b *testing.B, m map[string]float64, coturnCPU float64) {
	cpu := "?"
	if coturnCPU >= 0 {
		cpu = fmt.Sprintf("%.0f%%", coturnCPU)
	}
	b.Logf("  %4v calls: %4v ok, alloc p99 %6.1f ms, %6.0f pps, loss %5.2f%% (per call p95 %5.2f%%), jitter p95 %6.2f ms, cpu: rtcprobe %3.0f%%, coturn %s",
		m["calls"], m["calls_ok"], m["alloc_p99_ms"], m["relayed_pps"], m["loss_pct"], m["loss_p95_pct"], m["jitter_p95_ms"], m["generator_cpu_pct"], cpu)
}
