//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// runServe replaces this process with rtcprobe-serve: systemd's SIGHUP
// (reload) and SIGTERM (drain) reach the server itself.
func runServe(ctx context.Context, path string, args []string, stderr io.Writer) int {
	signal.Reset(caught...)
	if ctx.Err() != nil {
		return interruptedCode(ctx) // a signal caught before the exec: the server is not started
	}
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(stderr, "rtcprobe serve: running %s: %v\n", path, err)
	return exitInternal
}
