// Command rtcprobe-serve is `rtcprobe serve`: the Prometheus exporter and
// the hosted pre-call page with its results store. It is a program of its
// own so that every other rtcprobe command starts without initialising the
// exporter's and the databases' libraries; rtcprobe serve runs it (the one
// installed beside rtcprobe), and it takes the same flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, as rtcprobe's.
const (
	exitOK       = 0 // drained and stopped
	exitUsage    = 2 // bad flag, address, config or database URL: nothing was served
	exitInternal = 3 // the server failed
)

// errHelp means -h was asked for: usage is printed, exit 0.
var errHelp = errors.New("help requested")

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	caught := []os.Signal{os.Interrupt, syscall.SIGTERM}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, caught...)
	go func() {
		sig := <-sigs
		cancel(fmt.Errorf("interrupted by %v", sig))
		// A second signal is not caught: it ends the process at once.
		signal.Reset(caught...)
	}()
	code := serveCommand(ctx, os.Args[1:], os.Stderr)
	signal.Reset(caught...)
	os.Exit(code)
}
