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

// Exe is the binary's file name on t.
func (t Target) Exe() string {
	if t.OS == "windows" {
		return "rtcprobe.exe"
	}
	return "rtcprobe"
}

// Targets are the platforms `make dist` builds.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Build compiles cmd/rtcprobe of the module in root for t into out,
// stamped with version. Pure Go (CGO_ENABLED=0), so it cross-compiles
// without a C toolchain; -trimpath and an empty build ID keep the bytes
// the same from one machine to another.
func Build(ctx context.Context, root string, t Target, version, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -buildid= -X main.version="+version,
		"-o", out, "./cmd/rtcprobe")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch, "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %v\n%s", t, err, b)
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
