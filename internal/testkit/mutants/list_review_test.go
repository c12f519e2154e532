package mutants

// A second reader's round of mutants against the scheduler, the host rules,
// the kept sockets, the drops counter, the timeline and the exit codes:
// each survived the tests once, and each now has the test named here.
func init() {
	mutants = append(mutants,
		mutant{
			Name: `--concurrency N runs N+1 checks at once`,
			File: "checks/schedule.go",
			Old:  `if !t.ready || s.free == 0 ||`,
			New:  `if !t.ready || s.free < 0 ||`,
			Pkg:  "./checks", Run: `^TestSchedulerHoldsConcurrency$`,
		},
		mutant{
			Name: `a warn-level threshold on a saturated machine not the machine's`,
			File: "checks/hostload.go",
			Old:  `if r.Status != Warn && r.Status != Fail || m.Err != nil`,
			New:  `if r.Status != Fail || m.Err != nil`,
			Pkg:  "./checks", Run: `^TestJudgeHostLoad$`,
		},
		mutant{
			Name: `data-channel messages lost not a loss`,
			File: "checks/hostload.go",
			Old:  `return strings.Contains(metric, "loss") || strings.Contains(metric, "lost")`,
			New:  `return strings.Contains(metric, "loss")`,
			Pkg:  "./checks", Run: `^TestJudgeLossWhileThisHostDropped$`,
		},
		mutant{
			Name: `frozen frames on a saturated machine blamed on the camera`,
			File: "checks/hostload.go",
			Old:  `"frozen_frames_pct": true, `,
			New:  ``,
			Pkg:  "./checks", Run: `^TestJudgeHostLoad$`,
		},
		mutant{
			Name: `one UDP socket more than Max kept`,
			File: "probes/udp_sockets.go",
			Old:  `if s.closed || s.n >= s.Max {`,
			New:  `if s.closed || s.n > s.Max {`,
			Pkg:  "./probes", Run: `^TestUDPSocketsKeepAtMostMax$`,
		},
		mutant{
			Name: `expired sockets still counted`,
			File: "probes/udp_sockets.go",
			Old:  "\t\ts.n -= i\n",
			New:  ``,
			Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
		},
		mutant{
			Name: `sockets kept after Close`,
			File: "probes/udp_sockets.go",
			Old:  `if s.closed || s.n >= s.Max {`,
			New:  `if s.n >= s.Max {`,
			Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
		},
		mutant{
			Name: `a kept socket drained of one datagram only`,
			File: "probes/udp_drain_unix.go",
			Old:  "\t\t\tcase err == nil:\n\t\t\t\tcontinue\n",
			New:  "\t\t\tcase err == nil:\n\t\t\t\tfit = true\n",
			Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
		},
		mutant{
			Name: `a socket that heard stray answers kept`,
			File: "probes/stun.go",
			Old:  `requests == cfg.Count && x.stray == 0 &&`,
			New:  `requests == cfg.Count &&`,
			Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
		},
		mutant{
			Name: `UDP input errors counted as this host's drops`,
			File: "probes/hostdrops.go",
			Old:  `if string(n) == "RcvbufErrors" && i < len(fields) {`,
			New:  `if string(n) == "InErrors" && i < len(fields) {`,
			Pkg:  "./probes", Run: `^TestParseSNMP$`,
		},
		mutant{
			Name: `timeline labels cut by bytes`,
			File: "report/timeline.go",
			Old:  `if len([]rune(label)) > 42 {`,
			New:  `if len(label) > 42 {`,
			Pkg:  "./report", Run: `^TestTimelineLabels$`,
		},
		mutant{
			Name: `timeline ticks at twice the step at the boundaries`,
			File: "report/timeline.go",
			Old:  `if d/s <= 10 {`,
			New:  `if d/s < 10 {`,
			Pkg:  "./report", Run: `^TestTickStep$`,
		},
		mutant{
			Name: `a run that checked nothing exits 3, as an internal error`,
			File: "cmd/rtcprobe/exit.go",
			Old:  `exitNothing  = 4`,
			New:  `exitNothing  = 3`,
			Pkg:  "./cmd/rtcprobe", Run: `^TestOutcomeExitCodes$`,
		},
	)
}

func init() {
	mutants = append(mutants, mutant{
		Name: "a kept socket still being sent to lent after its drain",
		File: "probes/udp_drain_unix.go",
		Old:  "\t\treturn true // still receiving: not fit\n",
		New:  "\t\tfit = true\n\t\treturn true // still receiving: not fit\n",
		Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
	})
}
