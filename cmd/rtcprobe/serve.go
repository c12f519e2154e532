package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// serveProgram is the program `rtcprobe serve` is: the exporter and the
// pre-call page with their libraries (the Prometheus client, SQLite,
// PostgreSQL), which every other command would otherwise initialise at
// start (twice the CPU of `rtcprobe --version`).
const serveProgram = "rtcprobe-serve"

// serveCommand runs rtcprobe-serve with args: in this process's place on
// Unix (its PID, signals and exit code are the server's), as a child on
// Windows.
func serveCommand(ctx context.Context, args []string, stderr io.Writer) int {
	path, err := findServe()
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
		return exitInternal
	}
	return runServe(ctx, path, args, stderr)
}

// findServe is rtcprobe-serve beside this executable (packages, images
// and make build install both in one directory), else on PATH; one beside
// it that is not executable (its bits lost in an unzip) is passed over.
func findServe() (string, error) {
	name := serveProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(serveProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s, the server, is neither beside rtcprobe nor on PATH: every package and image has it; from source, make build builds both (go install github.com/rtcprobe/rtcprobe/cmd/...)", name)
}
