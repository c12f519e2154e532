package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is rtcprobe built for this test run: the tests that run inside a
// network namespace of their own run it there.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rtcprobe-conformance")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rtcprobe")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/rtcprobe/rtcprobe/cmd/rtcprobe").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
