package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rtcprobe/rtcprobe/internal/release"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// What the tests stamp the images with, as `make image` would.
const (
	testVersion = "v9.8.7-test"
	testMTime   = 1700000000
	testRev     = "0123456789abcdef0123456789abcdef01234567"
)

var (
	buildOnce sync.Once
	buildDir  string // the command and the small image, removed by TestMain
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// smallImage builds internal/image/cmd/mkimage and runs it once as `make
// image` does, and returns the command and the directory it wrote the
// rtcprobe image to.
func smallImage(t *testing.T) (command, out string) {
	t.Helper()
	testenv.Heavy(t, "a build of the binary and its image")
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "rtcprobe-image-test-"); buildErr != nil {
			return
		}
		bin := filepath.Join(buildDir, "image")
		if b, err := exec.Command("go", "build", "-o", bin, "./cmd/mkimage").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./internal/image/cmd/mkimage: %v\n%s", err, b)
			return
		}
		_, buildErr = makeImage(bin, filepath.Join(buildDir, "small"))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "image"), filepath.Join(buildDir, "small")
}

// makeImage runs the command with the flags `make image` passes (and
// args), writing to out, from the module's root.
func makeImage(command, out string, args ...string) (string, error) {
	root, err := release.ModuleRoot(".")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(command, append([]string{"-version", testVersion, "-revision", testRev,
		"-mtime", strconv.Itoa(testMTime), "-out", out}, args...)...)
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	return string(b), nil
}

// skopeo runs the third-party reader of images and returns its output.
func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(testenv.LookPath(t, "skopeo"), args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out
}

// imageConfig is the config of the image at oci:layout:ref, as skopeo
// reads it.
func imageConfig(t *testing.T, layout, ref string) v1.ConfigFile {
	t.Helper()
	var cfg v1.ConfigFile
	if err := json.Unmarshal(skopeo(t, "inspect", "--config", "--raw", "oci:"+layout+":"+ref), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// unpack unpacks the image's layers, bottom first, into a new directory
// with umoci (a third-party reader of OCI layouts), owners and modes
// kept.
func unpack(t *testing.T, layout, ref string) string {
	t.Helper()
	umoci := testenv.LookPath(t, "umoci")
	testenv.RequireRoot(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command(umoci, "raw", "unpack", "--image", layout+":"+ref, root).CombinedOutput(); err != nil {
		t.Fatalf("umoci raw unpack %s:%s: %v\n%s", layout, ref, err, out)
	}
	return root
}

// imageUser resolves a config's User ("uid:gid", or names) against the
// unpacked image's /etc/passwd and /etc/group, as a runtime does.
func imageUser(t *testing.T, root, user string) (uid, gid uint32) {
	t.Helper()
	u, g, _ := strings.Cut(user, ":")
	lookup := func(file, name string, field int) uint32 {
		if n, err := strconv.ParseUint(name, 10, 32); err == nil {
			return uint32(n)
		}
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			f := strings.Split(string(line), ":")
			if len(f) > field && f[0] == name {
				n, err := strconv.ParseUint(f[field], 10, 32)
				if err != nil {
					t.Fatalf("%s: %s: %v", file, line, err)
				}
				return uint32(n)
			}
		}
		t.Fatalf("the image's %s has no %q", file, name)
		return 0
	}
	uid = lookup("etc/passwd", u, 2)
	if g == "" {
		// No group: the user's primary group, from passwd.
		return uid, lookup("etc/passwd", u, 3)
	}
	return uid, lookup("etc/group", g, 2)
}
