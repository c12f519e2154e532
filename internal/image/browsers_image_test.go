//go:build browsersimage

package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvBrowsersImage names the rtcprobe-browsers image `make image-test`
// built: an OCI layout, then ":" and its ref.
const EnvBrowsersImage = "RTCPROBE_BROWSERS_IMAGE"

// TestBrowsersImageDefaultRun unpacks the rtcprobe-browsers image and
// runs its entrypoint with no arguments, as `podman run IMAGE` would:
// chrooted, as the config's user, in network, mount and PID namespaces
// of its own with only lo, over a /proc, a minimal /dev, /dev/shm and
// /tmp made for it, which go when the namespaces do. The default run
// (the embedded server on loopback, and the browser it finds in the
// image) passes, and its browser checks ran rather than skipped. Then
// Firefox, which the default run leaves out, passes its API and capture
// checks in the image too (browser.devices warns there: a container has
// no audio output).
func TestBrowsersImageDefaultRun(t *testing.T) {
	image := os.Getenv(EnvBrowsersImage)
	layout, ref, ok := strings.Cut(image, ":")
	if !ok {
		t.Fatalf("$%s = %q: want LAYOUT:REF (make image-test sets it)", EnvBrowsersImage, image)
	}
	root := unpack(t, layout, ref)
	cfg := imageConfig(t, layout, ref).Config
	uid, gid := imageUser(t, root, cfg.User)
	if uid != UID {
		t.Fatalf("the image runs as uid %d, want %d", uid, UID)
	}
	run := func(t *testing.T, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		argv := append([]string{"-m", "-n", "-p", "-f", "--propagation", "private", "sh", "-c", inNamespaces, "sh", root}, cfg.Env...)
		argv = append(append(argv, cfg.Entrypoint...), args...)
		cmd := exec.CommandContext(ctx, "unshare", argv...)
		cmd.Env = append(os.Environ(), "USERSPEC="+strconv.Itoa(int(uid))+":"+strconv.Itoa(int(gid)), "WORKDIR="+cfg.WorkingDir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("rtcprobe %s in the image, %s:\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), out.String())
		if err != nil {
			t.Errorf("rtcprobe %s in the image: %v", strings.Join(args, " "), err)
		}
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(mounts), root) {
			t.Errorf("mounts left under %s:\n%s", root, mounts)
		}
		return out.String()
	}
	t.Run("default", func(t *testing.T) {
		out := run(t)
		// Exit 0 says nothing failed; a warning can be the machine's load.
		if !regexp.MustCompile(`(?m)^│ browser\.interop +│ Chromium [^│]*│ (PASS|WARN) `).MatchString(out) {
			t.Errorf("no browser.interop row with Chromium passed")
		}
		if regexp.MustCompile(`browser\.\S* checks? skipped`).MatchString(out) {
			t.Errorf("browser checks skipped in the image")
		}
	})
	t.Run("firefox", func(t *testing.T) {
		out := run(t, "--browser", "firefox", "--checks", "browser.api,browser.getusermedia.audio,browser.getusermedia.video")
		if n := len(regexp.MustCompile(`(?m)^│ browser\.\S+ +│ Firefox [^│]*│ (PASS|WARN) `).FindAllString(out, -1)); n != 3 {
			t.Errorf("%d browser checks passed in Firefox, want 3", n)
		}
	})
}

// inNamespaces makes the mounts a container runtime makes, in the mount
// namespace only (unshare's is private: none reaches the machine's), and
// runs the command chrooted as $USERSPEC from $WORKDIR with only the
// environment given.
const inNamespaces = `set -e
R=$1; shift
ip link set lo up
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/shm" "$R/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
exec chroot --userspec="$USERSPEC" "$R" /usr/bin/env -i -C "$WORKDIR" "$@"
`
