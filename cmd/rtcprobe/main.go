// Command rtcprobe answers "will WebRTC work here, and if not, why?": it
// probes STUN/TURN servers (an embedded one when none is named) and prints
// a pass/warn/fail report.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// interrupt is the cause of a run cancelled by a signal.
type interrupt struct{ sig syscall.Signal }

func (i interrupt) Error() string { return "interrupted by " + i.sig.String() }

// caught are the signals that cancel a run. They are named to Reset too:
// Reset with no arguments visits every signal, each a round trip to the
// runtime's signal thread, about a millisecond at every exit.
var caught = []os.Signal{os.Interrupt, syscall.SIGTERM}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, caught...)
	go func() {
		sig := <-sigs
		cancel(interrupt{sig.(syscall.Signal)})
		// A second signal is not caught: it ends the process at once.
		signal.Reset(caught...)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Reset(caught...)
	os.Exit(code)
}
