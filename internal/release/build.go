package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Target is a platform a release is built for.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// Programs are the executables a release holds: the CLI, and the server
// `rtcprobe serve` runs (a program of its own, so the CLI does not load the
// exporter's and the databases' libraries).
var Programs = []string{"rtcprobe", "rtcprobe-serve"}

// Exe is program's file name on t.
func (t Target) Exe(program string) string {
	if t.OS == "windows" {
		return program + ".exe"
	}
	return program
}

// Targets are the platforms `make dist` builds.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Build compiles every program (cmd/NAME of the module in root) for t
// into dir, stamped with version. Pure Go (CGO_ENABLED=0), so it
// cross-compiles without a C toolchain; -trimpath and an empty build ID
// keep the bytes the same from one machine to another.
func Build(ctx context.Context, root string, t Target, version, dir string) error {
	for _, p := range Programs {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
			"-ldflags", "-s -w -buildid= -X main.version="+version,
			"-o", filepath.Join(dir, t.Exe(p)), "./cmd/"+p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch, "GOFLAGS=-mod=readonly")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/%s for %s: %v\n%s", p, t, err, b)
		}
	}
	return nil
}

// ModuleRoot finds the directory holding go.mod, from dir upwards.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}
