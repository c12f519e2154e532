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
	)
}
