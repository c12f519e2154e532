package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
)

// TestSmallImageServesProbe unpacks the rtcprobe image's layers, in
// order, into a throw-away root and runs its entrypoint there as a
// runtime would: chrooted, as the config's user, from its working
// directory, with its environment and nothing else. `rtcprobe serve`
// answers /probe of a STUN server the test runs on loopback, runs as
// uid 65532, and keeps its database in the user's home.
func TestSmallImageServesProbe(t *testing.T) {
	t.Parallel()
	_, out := smallImage(t)
	layout := filepath.Join(out, "rtcprobe")
	root := unpack(t, layout, testVersion)
	cfg := imageConfig(t, layout, testVersion).Config
	uid, gid := imageUser(t, root, cfg.User)
	if uid != UID || gid != UID {
		t.Fatalf("the image runs as %d:%d, want %d:%d", uid, gid, UID, UID)
	}
	stunServer := coturn.Start(t, coturn.Config{User: "u", Password: "p"})
	conf := "version: 1\nmodules:\n  stun:\n    checks: [stun.udp]\n    options: {stun_count: 3}\n    allowed_targets: [\"127.0.0.0/8\"]\n"
	if err := os.WriteFile(filepath.Join(root, Home, "rtcprobe.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(slices.Clone(cfg.Entrypoint[1:]), "serve", "--config", "rtcprobe.yml", "--listen", "127.0.0.1:0")
	cmd := exec.CommandContext(ctx, cfg.Entrypoint[0], args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root,
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	cmd.Dir, cmd.Env = cfg.WorkingDir, cfg.Env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("the entrypoint %q in the image: %v", cfg.Entrypoint, err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	addr := ""
	sc := bufio.NewScanner(stderr)
	var log []string
	for addr == "" && sc.Scan() {
		log = append(log, sc.Text())
		if m := regexp.MustCompile(`msg=listening address=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start in the image: %v\n%s", sc.Err(), strings.Join(log, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d\n", UID, UID, UID, UID); !strings.Contains(string(status), want) {
		t.Errorf("serve's ids, want %q:\n%s", want, status)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	target := fmt.Sprintf("stun:%s:%d", stunServer.Host, stunServer.Port)
	code, body := get("/probe?module=stun&target=" + target)
	if code != 200 || !regexp.MustCompile(`(?m)^probe_success 1$`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^probe_stun_rtt_median_seconds(\{[^}]*\})? \S+$`).MatchString(body) {
		t.Errorf("/probe of %s: %d, want 200 with probe_success 1 and an RTT\n%s", target, code, body)
	}
	if code, body := get("/-/ready"); code != 200 {
		t.Errorf("/-/ready: %d %s", code, body)
	}
	st, err := os.Stat(filepath.Join(root, Home, "rtcprobe.db"))
	if err != nil {
		t.Fatalf("no database in the working directory: %v", err)
	}
	if s := st.Sys().(*syscall.Stat_t); s.Uid != UID {
		t.Errorf("the database belongs to uid %d, want %d", s.Uid, UID)
	}
}

// TestSmallImageContents checks the config as skopeo reads it and the
// files as umoci unpacks them: exactly the binary, its users, the CA
// bundle, a home and /tmp, every one at the fixed time; no shell.
func TestSmallImageContents(t *testing.T) {
	t.Parallel()
	_, out := smallImage(t)
	layout := filepath.Join(out, "rtcprobe")
	cfg := imageConfig(t, layout, testVersion)
	c := cfg.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/usr/bin/rtcprobe"}) || len(c.Cmd) != 0 ||
		c.WorkingDir != Home || !slices.Contains(c.Env, "HOME="+Home) {
		t.Errorf("config: user %q, entrypoint %q, cmd %q, working dir %q, env %q", c.User, c.Entrypoint, c.Cmd, c.WorkingDir, c.Env)
	}
	mtime := time.Unix(testMTime, 0).UTC()
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRev,
		"org.opencontainers.image.source":   Source,
		"org.opencontainers.image.title":    "rtcprobe",
		"org.opencontainers.image.created":  mtime.Format(time.RFC3339),
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}
	if !cfg.Created.Time.Equal(mtime) || cfg.OS != "linux" || len(cfg.History) != 2 {
		t.Errorf("created %v (want %v), os %q, %d history entries (want 2)", cfg.Created, mtime, cfg.OS, len(cfg.History))
	}

	root := unpack(t, layout, testVersion)
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.ModTime().Equal(mtime) {
			t.Errorf("/%s: mtime %v, want %v", rel, fi.ModTime().UTC(), mtime)
		}
		files = append(files, fmt.Sprintf("/%s %v %d", rel, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/etc drwxr-xr-x 0", "/etc/group -rw-r--r-- 0", "/etc/nsswitch.conf -rw-r--r-- 0",
		"/etc/passwd -rw-r--r-- 0", "/etc/ssl drwxr-xr-x 0", "/etc/ssl/certs drwxr-xr-x 0",
		"/etc/ssl/certs/ca-certificates.crt -rw-r--r-- 0", "/home drwxr-xr-x 0",
		"/home/rtcprobe drwxr-xr-x 65532", "/tmp dtrwxrwxrwx 0", "/usr drwxr-xr-x 0",
		"/usr/bin drwxr-xr-x 0", "/usr/bin/rtcprobe -rwxr-xr-x 0", "/usr/bin/rtcprobe-serve -rwxr-xr-x 0",
	}
	if !slices.Equal(files, want) {
		t.Errorf("the image's files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	// The binary is the one stamped: it runs (static, so without a
	// libc in the image) and says its version.
	ver, err := exec.Command(filepath.Join(root, "usr/bin/rtcprobe"), "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(ver), testVersion) {
		t.Errorf("rtcprobe --version from the image: %v\n%s", err, ver)
	}
}

// TestImageReproducible: a second `make image` of the same tree, with
// the same version and time, writes the same bytes: the same layout
// index (and so manifest digest) and the same docker archive.
func TestImageReproducible(t *testing.T) {
	t.Parallel()
	command, first := smallImage(t)
	second := t.TempDir()
	if _, err := makeImage(command, second); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rtcprobe/index.json", "rtcprobe.tar"} {
		a, b := fileSum(t, filepath.Join(first, f)), fileSum(t, filepath.Join(second, f))
		if a != b {
			t.Errorf("%s differs between two builds: %x, %x", f, a, b)
		}
	}
	if a, b := skopeo(t, "inspect", "--format", "{{.Digest}}", "oci:"+filepath.Join(first, "rtcprobe")+":"+testVersion),
		skopeo(t, "inspect", "--format", "{{.Digest}}", "oci:"+filepath.Join(second, "rtcprobe")+":"+testVersion); string(a) != string(b) {
		t.Errorf("manifest digests differ: %s, %s", a, b)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestImageArchiveLoads: the docker-archive, the file `podman load`
// reads, holds the image of the layout under its tag: skopeo copies the
// image it names ghcr.io/rtcprobe/rtcprobe:VERSION into a layout of its
// own, with the same config and so the same layers.
func TestImageArchiveLoads(t *testing.T) {
	t.Parallel()
	_, out := smallImage(t)
	copied := filepath.Join(t.TempDir(), "copy")
	skopeo(t, "copy", "--quiet", "docker-archive:"+filepath.Join(out, "rtcprobe.tar")+":ghcr.io/rtcprobe/rtcprobe:"+testVersion,
		"oci:"+copied+":loaded")
	layout, loaded := imageConfig(t, filepath.Join(out, "rtcprobe"), testVersion), imageConfig(t, copied, "loaded")
	if !reflect.DeepEqual(layout, loaded) {
		t.Errorf("the archive's config differs from the layout's:\n%+v\n%+v", loaded, layout)
	}
	if len(loaded.RootFS.DiffIDs) != 2 {
		t.Errorf("the archive's image has layers %v, want 2", loaded.RootFS.DiffIDs)
	}
}
