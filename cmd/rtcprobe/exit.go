package main

import "github.com/rtcprobe/rtcprobe/internal/engine"

// Exit codes, decided once in run.
const (
	exitOK       = 0 // every check passed (warnings allowed)
	exitFail     = 1 // at least one check failed
	exitUsage    = 2 // bad flag, URI or config: nothing was probed
	exitInternal = 3 // rtcprobe itself failed
	exitNothing  = 4 // every check skipped: nothing was tested
	// An interrupted run exits 128 + the signal's number: 130 for SIGINT,
	// 143 for SIGTERM.
)

// outcomeExitCode is the code of the engine's outcome, the rule every
// front end shares.
func outcomeExitCode(o engine.Outcome) int {
	switch o {
	case engine.Failed:
		return exitFail
	case engine.Errored:
		return exitInternal
	case engine.NothingChecked:
		return exitNothing
	}
	return exitOK
}
