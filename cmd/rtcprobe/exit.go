package main

import (
	"github.com/rtcprobe/rtcprobe/checks/result"
)

// Exit codes, decided once in run.
const (
	exitOK       = 0 // every check passed (warnings allowed)
	exitFail     = 1 // at least one check failed
	exitUsage    = 2 // bad flag, URI or config: nothing was probed
	exitInternal = 3 // rtcprobe itself failed
	// An interrupted run exits 128 + the signal's number: 130 for SIGINT,
	// 143 for SIGTERM.
)

func statusExitCode(overall result.Status) int {
	switch overall {
	case result.Fail:
		return exitFail
	case result.Error:
		return exitInternal
	}
	return exitOK
}
