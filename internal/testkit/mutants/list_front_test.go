package mutants

// The mutation round's group on reports, the exporter, the pre-call
// page's verdict and the process's bounds: each a plausible bug that
// survived every test before the test named for it.
func init() {
	mutants = append(mutants,
		mutant{
			Name: "repeat flaps counted against the first iteration",
			File: "report/repeat.go",
			Old:  `c.Statuses[n-1] != r.Status`,
			New:  `c.Statuses[0] != r.Status`,
			Pkg:  "./report", Run: `^TestSummarizeFlaps$`,
		},
		mutant{
			Name: "repeated run's status the last iteration's",
			File: "report/report.go",
			Old:  `return r.Repeat.worst()`,
			New:  `return result.Overall(r.Results)`,
			Pkg:  "./report", Run: `^TestRepeatOverallIsTheWorstIteration$`,
		},
		mutant{
			Name: "p95 across iterations from unsorted values",
			File: "report/repeat.go",
			Old:  `p.Percentile(95)`,
			New:  `vs[int(math.Ceil(0.95*float64(len(vs))))-1]`,
			Pkg:  "./report", Run: `^TestSummarizeSpreadUnordered$`,
		},
		mutant{
			Name: "JUnit pass rate counts warnings as passing under fail-on warn",
			File: "report/junit.go",
			Old:  `c.PassRate(r.failOn())`,
			New:  `c.PassRate(result.Fail)`,
			Pkg:  "./report", Run: `^TestRepeatPassRateFollowsFailOn$`,
		},
		mutant{
			Name: "pre-call camera with black or frozen frames shown as working",
			File: "internal/precall/verdict.go",
			Old:  `(quality.Status == result.Fail || quality.Status == result.Error)`,
			New:  `quality.Status == result.Error`,
			Pkg:  "./internal/precall", Run: `^TestSummarizeBoundaries$`,
		},
		mutant{
			Name: "pre-call errored ICE server not listed among the failed",
			File: "internal/precall/verdict.go",
			Old:  `r.Status == result.Fail || r.Status == result.Error`,
			New:  `r.Status == result.Fail`,
			Pkg:  "./internal/precall", Run: `^TestSummarizeBoundaries$`,
		},
		mutant{
			Name: "pre-call relay transport that warned shown as not working",
			File: "internal/precall/verdict.go",
			Old:  `if r.Status == result.Pass || r.Status == result.Warn {`,
			New:  `if r.Status == result.Pass {`,
			Pkg:  "./internal/precall", Run: `^TestSummarizeBoundaries$`,
		},
		mutant{
			Name: "exporter probe_success 1 when every check skipped",
			File: "internal/serve/exporter/probe.go",
			Old:  `success := engine.OutcomeOf(rep).Success()`,
			New:  `success := engine.OutcomeOf(rep) != engine.Failed`,
			Pkg:  "./internal/serve/exporter", Run: `^TestAllSkippedIsNoSuccess$`,
		},
		mutant{
			Name: "exporter duration histogram observes milliseconds",
			File: "internal/serve/exporter/probe.go",
			Old:  `Observe(took.Seconds())`,
			New:  `Observe(float64(took.Milliseconds()))`,
			Pkg:  "./internal/serve/exporter", Run: `^TestDurationHistogramInSeconds$`,
		},
		mutant{
			Name: "exporter family ipv6 for an IPv4-mapped address",
			File: "internal/serve/exporter/metrics.go",
			Old:  `if ip.Unmap().Is4() {`,
			New:  `if ip.Is4() {`,
			Pkg:  "./internal/serve/exporter", Run: `^TestAddressFamily$`,
		},
		mutant{
			Name: "exporter scrape timeout longer than the module's not capped by it",
			File: "internal/serve/exporter/probe.go",
			Old:  `d.limit = min(module, left-min(checks.StragglerGrace, left/4))`,
			New:  `d.limit = left - min(checks.StragglerGrace, left/4)`,
			Pkg:  "./internal/serve/exporter", Run: `^TestDeadlineCountsTheGrace$`,
		},
		mutant{
			Name: "URI redaction ends the userinfo at its first @",
			File: "probes/redact.go",
			Old:  `at := strings.LastIndex(authority, "@")`,
			New:  `at := strings.Index(authority, "@")`,
			Pkg:  "./probes", Run: `^TestRedactURIPasswordWithAt$`,
		},
		mutant{
			Name: "database URL redaction ends the userinfo at its first @",
			File: "internal/store/store.go",
			Old:  `strings.LastIndex(rest, "@")`,
			New:  `strings.Index(rest, "@")`,
			Pkg:  "./internal/store", Run: `^TestRedactPasswordWithAt$`,
		},
		mutant{
			Name: "ReadJSON reads 128 MiB while saying it stops at 16",
			File: "report/json.go",
			Old:  `N: MaxJSONBytes + 1}`,
			New:  `N: 8*MaxJSONBytes + 1}`,
			Pkg:  "./report", Run: `^TestReadJSONReadsNoFurther$`,
		},
		mutant{
			Name: "pong wait reads 16 MiB of a flood while the evidence says 1",
			File: "probes/websocket.go",
			Old:  `r := &io.LimitedReader{R: br, N: maxPingRead}`,
			New:  `r := &io.LimitedReader{R: br, N: 16 * maxPingRead}`,
			Pkg:  "./probes", Run: `^TestWSPingFloodBounded$`,
		},
		// Caught through the built binary: needs the overlay to reach the
		// binary TestMain builds.
		mutant{
			Name: "SIGINT exits 143 as if it were SIGTERM",
			File: "cmd/rtcprobe/main.go",
			Old:  `cancel(interrupt{sig.(syscall.Signal)})`,
			New:  `cancel(interrupt{syscall.SIGTERM}); _ = sig`,
			Pkg:  "./cmd/rtcprobe", Run: `^TestSIGINTExits130$`,
		},
		mutant{
			Name: "soak outcome from the last iteration only",
			File: "internal/engine/outcome.go",
			Old:  `if rep.Repeat != nil && len(rep.Repeat.Iterations) > 0 {`,
			New:  `if false && rep.Repeat != nil && len(rep.Repeat.Iterations) > 0 {`,
			Pkg:  "./internal/engine", Run: `^TestOutcomeOf$`,
		},
	)
}
