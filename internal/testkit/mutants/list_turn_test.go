package mutants

// TURN and load (issue #28): the relay test's loss per direction and its
// judgement, and the load run's allocation percentiles, relayed rate and
// per-call jitter. The probes' truths come from a relay in front of the
// embedded server that drops or holds datagrams per client and direction
// (netsim.StartFaultyRelay).
func init() {
	mutants = append(mutants,
		mutant{
			Name: "TURN loss_ba_pct as the round-trip loss",
			File: "probes/turn.go",
			Old:  `m.SetMetric("loss_ba_pct", LossPct(e.atB, e.echoed))`,
			New:  `m.SetMetric("loss_ba_pct", LossPct(e.want, e.echoed))`,
			Pkg:  "./probes", Run: `^TestTURNLossPerDirection$`,
		},
		mutant{
			Name: "TURN a→b loss of the packets sent, not of those the test meant to send",
			File: "probes/turn.go",
			Old:  `m.SetMetric("loss_ab_pct", LossPct(e.want, e.atB))`,
			New:  `m.SetMetric("loss_ab_pct", LossPct(e.sent, e.atB))`,
			Pkg:  "./probes", Run: `^TestTURNRelayDiesHalfWay$`,
		},
		mutant{
			Name: "TURN round-trip loss of the packets sent only",
			File: "probes/turn.go",
			Old:  `m.SetMetric("loss_rtt_pct", LossPct(e.want, e.echoed))`,
			New:  `m.SetMetric("loss_rtt_pct", LossPct(e.sent, e.echoed))`,
			Pkg:  "./probes", Run: `^TestTURNRelayDiesHalfWay$`,
		},
		mutant{
			Name: "TURN one-way loss_pct as the round-trip loss",
			File: "probes/turn.go",
			Old:  `m.SetMetric("loss_pct", LossPct(e.want+e.atB, e.atB+e.echoed))`,
			New:  `m.SetMetric("loss_pct", LossPct(e.want, e.echoed))`,
			Pkg:  "./probes", Run: `^TestTURNLossPerDirection$`,
		},
		mutant{
			Name: "TURN one-way loss_pct of the packets sent only",
			File: "probes/turn.go",
			Old:  `LossPct(e.want+e.atB, e.atB+e.echoed)`,
			New:  `LossPct(e.sent+e.atB, e.atB+e.echoed)`,
			Pkg:  "./probes", Run: `^TestTURNRelayDiesHalfWay$`,
		},
		mutant{
			Name: "TURN b→a loss of 20 % never judged (its threshold on a→b again)",
			File: "checks/turn.go",
			Old:  `MustThreshold(Fail, "loss_ba_pct < 20",`,
			New:  `MustThreshold(Fail, "loss_ab_pct < 20",`,
			Pkg:  "./checks", Run: `^TestTURNJudge$`,
		},
		mutant{
			Name: "TURN a→b loss of exactly 20 % passes its limit",
			File: "checks/turn.go",
			Old:  `MustThreshold(Fail, "loss_ab_pct < 20",`,
			New:  `MustThreshold(Fail, "loss_ab_pct <= 20",`,
			Pkg:  "./checks", Run: `^TestTURNJudge$`,
		},
		mutant{
			Name: "TURN advice gives the a→b loss for both directions",
			File: "checks/turn.go",
			Old:  `FormatNumber(v["loss_ab_pct"]), FormatNumber(v["loss_ba_pct"]))`,
			New:  `FormatNumber(v["loss_ab_pct"]), FormatNumber(v["loss_ab_pct"]))`,
			Pkg:  "./checks", Run: `^TestTURNJudge$`,
		},
		mutant{
			Name: "load alloc_p95_ms is the median",
			File: "probes/loadsummary.go",
			Old:  `m.SetMetric("alloc_p95_ms", round3(s.Alloc.Percentile(95)))`,
			New:  `m.SetMetric("alloc_p95_ms", round3(s.Alloc.Percentile(50)))`,
			Pkg:  "./probes", Run: `^TestTURNLoadAllocPercentiles$`,
		},
		mutant{
			Name: "load alloc_p50_ms is the 95th percentile",
			File: "probes/loadsummary.go",
			Old:  `m.SetMetric("alloc_p50_ms", round3(s.Alloc.Percentile(50)))`,
			New:  `m.SetMetric("alloc_p50_ms", round3(s.Alloc.Percentile(95)))`,
			Pkg:  "./probes", Run: `^TestTURNLoadAllocPercentiles$`,
		},
		mutant{
			Name: "load relayed_pps counts the packets sent, not relayed",
			File: "probes/turnload.go",
			Old:  `st.Totals.RelayedPPS = round3(float64(got) / d.Seconds())`,
			New:  `st.Totals.RelayedPPS = round3(float64(want) / d.Seconds())`,
			Pkg:  "./probes", Run: `^TestTURNLoadRelayedPPS$`,
		},
		mutant{
			Name: "load per-call jitter from the second end only",
			File: "probes/turnload.go",
			Old:  `jit = max(jit, r.jitter)`,
			New:  `jit = r.jitter`,
			Pkg:  "./probes", Run: `^TestTURNLoadJitterBothEnds$`,
		},
		mutant{
			Name: "load per-call jitter from the first end only",
			File: "probes/turnload.go",
			Old:  `jit = max(jit, r.jitter)`,
			New:  `jit = max(jit, c.rx[0].jitter)`,
			Pkg:  "./probes", Run: `^TestTURNLoadJitterBothEnds$`,
		},
		mutant{
			Name: "a merged histogram loses the other's zeros",
			File: "probes/histogram.go",
			Old:  "h.ZeroCount += o.ZeroCount",
			New:  "h.ZeroCount += 0",
			Pkg:  "./probes", Run: `^TestHistogramMergeOfPartsIsTheWhole$`,
		},
		mutant{
			Name: "histogram percentiles read a bucket's top, not its middle",
			File: "probes/histogram.go",
			Old:  "return 2 * math.Pow(histogramGamma, float64(i)) / (histogramGamma + 1)",
			New:  "return math.Pow(histogramGamma, float64(i))",
			Pkg:  "./probes", Run: `^TestHistogramPercentileError$`,
		},
		mutant{
			Name: "shards' shares of a step miss the remainder",
			File: "probes/shard.go",
			Old:  "if s.Index < n%s.Count {",
			New:  "if s.Index < n%s.Count-1 {",
			Pkg:  "./probes", Run: `^TestShardSharesAddUp$`,
		},
	)
}

func init() {
	mutants = append(mutants, mutant{
		Name: "late TURN echoes counted lost: the echo wait does not stretch to the round trips seen",
		File: "probes/turn.go",
		Old:  "paced > 0 && 2*worst > cfg.EchoWait {",
		New:  "paced > 0 && false {",
		Pkg:  "./probes", Run: `^TestTURNLateEchoesAreNotLost$`,
	})
}
