package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// runServe runs rtcprobe-serve as a child with this process's console: a
// Ctrl+C reaches both, and the child drains.
func runServe(_ context.Context, path string, args []string, stderr io.Writer) int {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintf(stderr, "rtcprobe serve: running %s: %v\n", path, err)
		return exitInternal
	}
	return exitOK
}
