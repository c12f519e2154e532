package mutants

// The harness's own mutant: caught only if the mutation reaches the
// rtcprobe binary that cmd/rtcprobe's TestMain builds (the test binary
// never calls outcomeExitCode itself, it runs the binary and reads its
// exit code). If the overlay reached only the test binary, it would
// escape: so TestMutants proves the GOFLAGS route every time it runs.
func init() {
	mutants = append(mutants, mutant{
		Name: "a run that checked nothing exits 0 (binary built by TestMain)",
		File: "cmd/rtcprobe/exit.go",
		Old:  `return exitNothing`,
		New:  `return exitOK`,
		Pkg:  "./cmd/rtcprobe", Run: `^TestAllSkipIsNoSuccess$`,
	}, mutant{
		Name: "rtcprobe's own error (a check in status error) exits 1, as a failure",
		File: "cmd/rtcprobe/exit.go",
		Old:  "case engine.Errored:\n\t\treturn exitInternal",
		New:  "case engine.Errored:\n\t\treturn exitFail",
		Pkg:  "./cmd/rtcprobe", Run: `^TestOutcomeExitCodes$`,
	}, mutant{
		// turn_udp probes fail with 437 now and then under load (0.5-0.7 %
		// of 1500: the test fails all but once in about a thousand runs).
		Name: "a released UDP allocation's socket closed at once",
		File: "probes/turn_release.go",
		Old:  `c.released = true`,
		New:  `c.released = false`,
		Pkg:  "./probes", Run: `^TestCoturnProbedAtRate$`,
	}, mutant{
		// coturn keeps a session (and its memory) per client address.
		Name: "stun_udp probes never keep their socket: a session on the server per probe",
		File: "probes/stun.go",
		Old:  "kept = true\n\t\tcfg.Sockets.keep(conn)",
		New:  "kept = false",
		Pkg:  "./probes", Run: `^TestCoturnLeftAsItWasByStunProbes$`,
	}, mutant{
		Name: "a stun_udp socket kept with a request unanswered (its late answer a stray of the next probe)",
		File: "probes/stun.go",
		Old:  "t.Transport == UDP && len(rtts) == requests &&",
		New:  "t.Transport == UDP &&",
		Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
	}, mutant{
		Name: "a kept socket lent without reading what came in since",
		File: "probes/udp_sockets.go",
		Old:  "if drained(c) && c.SetDeadline",
		New:  "if c.SetDeadline",
		Pkg:  "./probes", Run: `^TestUDPSocketsKeepOnlyCleanSockets$`,
	})
}
