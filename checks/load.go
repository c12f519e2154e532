package checks

import (
	"context"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Thresholds of a TURN capacity run: what a server carrying that many
// calls must still give each of them.
var loadThresholds = []Threshold{
	MustThreshold(Fail, "alloc_success_pct >= 99", "a server at capacity refuses allocations: calls fall back to worse paths or fail"),
	MustThreshold(Warn, "loss_pct <= 1", "above 1 % relayed loss, concealment starts to be audible"),
	MustThreshold(Fail, "loss_pct < 5", "above 5 % loss, speech and video break up (G.113: quality falls steeply)"),
	MustThreshold(Warn, "loss_p95_pct <= 2", "one call in twenty losing over 2 % means the load is not shared evenly"),
	MustThreshold(Warn, "jitter_p95_ms < 30", "a jitter buffer deep enough for 30 ms jitter adds noticeable delay"),
	MustThreshold(Warn, "alloc_p95_ms < 500", "slow allocations delay relay candidates and call setup"),
}

// loadTimeout is a load run's deadline: each step's slot
// (probes.LoadStepSlot: set-up, sending, release), and the wait for the
// start when one is set.
func loadTimeout(p *Plan) time.Duration {
	steps := []int{p.Settings.LoadCalls}
	if p.Settings.LoadRamp {
		steps = probes.LoadSteps(p.Settings.LoadCalls)
	}
	var d time.Duration
	for range steps {
		// Every step as long as the largest: the slots are shorter, but a
		// step may overrun its own.
		d += probes.LoadStepSlot(p.Settings.LoadCalls, p.Settings.LoadDuration)
	}
	if !p.Settings.LoadStartAt.IsZero() {
		d += max(0, time.Until(p.Settings.LoadStartAt))
	}
	return d + 10*time.Second
}

func loadChecks() []*Check {
	return []*Check{{
		ID:    "load.turn",
		Title: "TURN capacity",
		Description: "Runs concurrent relayed calls through each turn:/turns: server (two allocations a call, RTP-sized packets both ways at real pace) " +
			"for the load duration: allocation latency, per-call loss and jitter, relayed packets per second and rtcprobe's own CPU. With load_ramp, " +
			"rising call counts find the most calls the server carries within the thresholds (calls_held). Runs only when asked for " +
			"(rtcprobe load, {option:profile=load} or {option:checks=load}), alone, and only against the servers given.",
		Metrics: []string{"calls_held", "loss_pct", "alloc_success_pct", "calls", "calls_ok", "loss_p50_pct", "loss_p95_pct", "loss_max_pct",
			"jitter_p50_ms", "jitter_p95_ms", "jitter_max_ms", "alloc_p50_ms", "alloc_p95_ms", "alloc_p99_ms", "relayed_pps",
			"packets_sent", "packets_received", "generator_cpu_pct", "cores"},
		Sometimes:  map[string]string{"calls_held": "with load_ramp"},
		OptIn:      true,
		Exclusive:  true,
		TimeoutFor: loadTimeout,
		// Load allocates many relays on purpose: it runs alone after the
		// others and holds the quota its whole run, never lending it.
		Serial:     func(s Subject) string { return turnQuotaKey(s.Target.Server) },
		Thresholds: loadThresholds,
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, s := range p.Servers {
				if s.IsTURN() {
					tr := s.Transports()[0]
					out = append(out, Subject{Name: s.String(), Target: probes.Target{Server: s, Transport: tr, TLS: p.TLS, Proxy: p.Settings.Proxy}})
				}
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			thresholds := rampThresholds(p, "load.turn", loadThresholds)
			m := probes.TURNLoad(ctx, s.Target, probes.LoadConfig{Calls: p.Settings.LoadCalls, Duration: p.Settings.LoadDuration,
				Interval: p.Settings.LoadInterval, PacketSize: p.Settings.LoadPacketSize, Ramp: p.Settings.LoadRamp,
				Shard: p.Settings.LoadShard, StartAt: p.Settings.LoadStartAt,
				Held: func(m probes.Measurement) bool { return holds(thresholds, m) }})
			if sum, ok := m.Summary.(*probes.LoadSummary); ok {
				// A merge of the shards' reports judges by these.
				for _, t := range thresholds {
					sum.Run.Thresholds = append(sum.Run.Thresholds, string(t.Level)+": "+t.String())
				}
			}
			return m
		},
		Advice: func(r Result, m probes.Measurement) string {
			if m.Err != nil {
				return ""
			}
			if cpu, cores := m.Metrics["generator_cpu_pct"], m.Metrics["cores"]; cores > 0 && cpu > 70*cores {
				return "rtcprobe itself used most of this machine's CPU while generating the calls: the loss may be the generator's. Run fewer calls, or the load from a bigger machine."
			}
			if m.Metrics["alloc_success_pct"] < 99 {
				return "The server refused allocations under load: check its total and per-user quotas (coturn total-quota, user-quota) and its relay port range (min-port/max-port)."
			}
			return "Relayed calls lose packets or arrive unevenly under this load: the server's CPU, its network link or its socket buffers are the limit; compare with fewer calls (load_ramp finds where it starts)."
		},
		Needs: "a turn: or turns: server (rtcprobe load turn:HOST …)",
	}}
}
