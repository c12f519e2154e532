package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// serveProc is `rtcprobe serve` run as a process, the way an operator
// runs it.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *netlab.SyncBuffer
	exited chan struct{}
	// embedded is the default modules' STUN/TURN address (no --config).
	embedded, embeddedTLS string
}

var listeningLine = regexp.MustCompile(`msg=listening address=(\S+)`)
var embeddedLine = regexp.MustCompile(`stun=stun:(\S+) turn=\S+ turns=turns:(\S+)`)

// startServe runs the binary on a free port and waits until it listens.
// It is killed when the test ends if still running.
func startServe(t testing.TB, env []string, args ...string) *serveProc {
	t.Helper()
	return startServeIn(t, nil, env, nil, args...)
}

// startServeIn is startServe inside a network namespace (nil: this one),
// with each log line also handed to onLine (when set).
func startServeIn(t testing.TB, ns *netlab.NS, env []string, onLine func(string), args ...string) *serveProc {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "rtcprobe.db")}, args...)
	cmd := exec.Command(binary, args...)
	if ns != nil {
		cmd = ns.Command(context.Background(), binary, args...)
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &netlab.SyncBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening, emb := make(chan string, 1), make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.stderr, line)
			if onLine != nil {
				onLine(line)
			}
			if m := embeddedLine.FindStringSubmatch(line); m != nil {
				emb <- m[1:]
			}
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				listening <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("rtcprobe serve's log:\n%s", p.stderr.String())
		}
	})
	select {
	case p.addr = <-listening:
	case <-p.exited:
		t.Fatalf("rtcprobe serve exited: %s", p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("rtcprobe serve not listening after 20s: %s", p.stderr.String())
	}
	// Without --config, the embedded server's line follows at once.
	if !slices.Contains(args, "--config") {
		select {
		case m := <-emb:
			p.embedded, p.embeddedTLS = m[0], m[1]
		case <-time.After(5 * time.Second):
			t.Fatalf("rtcprobe serve did not name its embedded server: %s", p.stderr.String())
		}
	}
	return p
}

// get fetches a path and returns the status code and body.
func (p *serveProc) get(t testing.TB, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func probePath(module, target string) string {
	return "/probe?module=" + url.QueryEscape(module) + "&target=" + url.QueryEscape(target)
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProc) wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("rtcprobe serve still running after %s", within)
		return -1
	}
}

// waitFor polls a path until the body matches, or fails after 10s.
func (p *serveProc) waitFor(t testing.TB, path string, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, body := p.get(t, path); re.MatchString(body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never matched %s", path, re)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeDefaultModules: without a config, serve probes its embedded
// server with the documented modules and refuses any other target.
func TestServeDefaultModules(t *testing.T) {
	p := startServe(t, nil)
	for _, tc := range []struct{ module, target, series string }{
		{"stun_udp", "stun:" + p.embedded, `probe_stun_rtt_median_seconds{check="stun.udp",family="ipv4",transport="udp"} `},
		{"stun_tcp", "stun:" + p.embedded, `probe_stun_rtt_median_seconds{check="stun.tcp",family="ipv4",transport="tcp"} `},
		{"turn_udp", "turn:" + p.embedded, `probe_turn_rtt_median_seconds{check="turn.udp",family="ipv4",transport="udp"} `},
		{"turn_tcp", "turn:" + p.embedded, `probe_turn_rtt_median_seconds{check="turn.tcp",family="ipv4",transport="tcp"} `},
		{"turn_tls", "turns:" + p.embeddedTLS, `probe_turn_rtt_median_seconds{check="turn.tls",family="ipv4",transport="tls"} `},
		{"firewall", "turn:" + p.embedded, `probe_firewall_paths_open{check="firewall.matrix"} `},
		{"ice_relay", "turn:" + p.embedded, `probe_ice_ice_rtt_seconds{check="ice.relay",family="ipv4",transport="udp"} `},
	} {
		code, body := p.get(t, probePath(tc.module, tc.target))
		if code != http.StatusOK || !strings.Contains(body, "\nprobe_success 1\n") || !strings.Contains(body, tc.series) {
			t.Errorf("%s %s: %d\n%s", tc.module, tc.target, code, body)
		}
	}
	code, body := p.get(t, probePath("stun_udp", "stun:127.0.0.1:9"))
	if code != http.StatusForbidden || !strings.Contains(body, "not allowed by module stun_udp") || !strings.Contains(body, "127.0.0.1:"+strings.Split(p.embedded, ":")[1]) {
		t.Errorf("another target: %d %s", code, body)
	}
}

// TestServeSIGHUPKeepsOldConfigOnError: a broken config sent by SIGHUP is
// refused with its file:line errors logged, and the old modules go on.
func TestServeSIGHUPKeepsOldConfigOnError(t *testing.T) {
	addr := startEmbedded(t)
	cfg := writeConfig(t, fmt.Sprintf(`modules:
  stun_udp:
    checks: [stun.udp]
    allowed_targets: [%q]
`, addr))
	p := startServe(t, nil, "--config", cfg)
	if code, body := p.get(t, probePath("stun_udp", "stun:"+addr)); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Fatalf("before reload: %d %s", code, body)
	}
	if err := os.WriteFile(cfg, []byte("modules:\n  stun_udp:\n    checks: [stun.nope]\n    allowed_targets: [\"*\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "/metrics", regexp.MustCompile(`(?m)^rtcprobe_config_last_reload_successful 0$`))
	if !strings.Contains(p.stderr.String(), "rtcprobe.yml:3: modules.stun_udp.checks[0]: unknown check \\\"stun.nope\\\"") {
		t.Errorf("the refused config's file:line error is not logged:\n%s", p.stderr.String())
	}
	// The old module still runs and still refuses what it refused.
	if code, body := p.get(t, probePath("stun_udp", "stun:"+addr)); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Errorf("after a refused reload: %d %s", code, body)
	}
	if code, _ := p.get(t, probePath("stun_udp", "stun:127.0.0.1:9")); code != http.StatusForbidden {
		t.Errorf("the broken config's allow-everything took effect: %d", code)
	}
}

// TestServeSIGTERMDrains: a probe in flight when SIGTERM arrives gets its
// whole answer, new connections are refused, and serve exits 0.
func TestServeSIGTERMDrains(t *testing.T) {
	silent := netlab.SilentUDP(t)
	cfg := writeConfig(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    check_timeout: 1500ms
    allowed_targets: [%q]
`, silent))
	p := startServe(t, nil, "--config", cfg)
	type answer struct {
		code int
		body string
		took time.Duration
	}
	done := make(chan answer, 1)
	go func() {
		start := time.Now()
		code, body := p.get(t, probePath("slow", "stun:"+silent))
		done <- answer{code, body, time.Since(start)}
	}()
	p.waitFor(t, "/metrics", regexp.MustCompile(`(?m)^rtcprobe_probes_in_flight\{module="slow"\} 1$`))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.code != 200 || !strings.Contains(a.body, "\nprobe_success 0\n") || !strings.Contains(a.body, `probe_check_status{check="stun.udp",family="ipv4",status="fail",transport="udp"} 1`) {
		t.Errorf("the probe in flight: %d after %s\n%s", a.code, a.took, a.body)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after the drain")
	}
	if log := p.stderr.String(); !strings.Contains(log, `msg="draining:`) || !strings.Contains(log, "msg=stopped") {
		t.Errorf("log:\n%s", log)
	}
}

func TestServeUsageErrors(t *testing.T) {
	bad := writeConfig(t, "modules:\n  m:\n    checks: [stun.udp]\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--config", bad}, "rtcprobe.yml:3: modules.m: missing allowed_targets"},
		{[]string{"serve", "stun:example.org"}, `unexpected argument "stun:example.org"`},
		{[]string{"serve", "--max-probes", "0"}, "invalid --max-probes 0"},
		{[]string{"serve", "--max-connections", "1"}, "invalid --max-connections 1"},
		{[]string{"serve", "--listen", "127.0.0.1:99999"}, "--listen 127.0.0.1:99999"},
	} {
		res := rtcprobe(t, tc.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// A database serve cannot reach is the environment's failure, exit 3, not
// bad usage: the error names the database with its password redacted
// (issue #23, bug 8). A DSN that cannot be parsed stays a usage error.
func TestServeUnreachableDatabaseExits3(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent", "results.db")
	for _, tc := range []struct {
		db, want string
		code     int
	}{
		{"postgres://u:secret@127.0.0.1:1/x", "--db postgres://u:xxxxx@127.0.0.1:1/x", exitInternal},
		{"postgresql://u:secret@127.0.0.1:1/x?sslmode=disable", "--db postgresql://u:xxxxx@127.0.0.1:1/x", exitInternal},
		{missing, "--db " + missing, exitInternal},
		{"sqlite:" + missing, "--db sqlite:" + missing, exitInternal},
		{"postgres://u:secret@[::1/x", "--db postgres://u:xxxxx@[::1/x", exitUsage},
		{"sqlite:", "--db sqlite:", exitUsage},
	} {
		res := rtcprobe(t, "serve", "--listen", "127.0.0.1:0", "--db", tc.db)
		if res.code != tc.code || !strings.Contains(res.stderr, "rtcprobe serve: "+tc.want) || strings.Contains(res.stderr, "secret") {
			t.Errorf("--db %s: exit %d, stderr %q; want %d naming %q without the password", tc.db, res.code, res.stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Errorf("serve created %s", filepath.Dir(missing))
	}
}

// TestValidateShowsModules: rtcprobe validate checks the example modules
// and lists them.
func TestValidateShowsModules(t *testing.T) {
	res := rtcprobeEnv(t, []string{"TURN_PASSWORD=pw", "TURN_SECRET=s"}, "validate", "--config", "../../examples/prometheus/rtcprobe.yml")
	if res.code != 0 || !strings.Contains(res.stdout, "module turn_udp: 1 check, 3 allowed target rules") || !strings.Contains(res.stdout, "module signaling: 1 check") {
		t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestServeRunsTheServerInPlace: `rtcprobe serve` becomes rtcprobe-serve
// in the same process (the PID an operator or systemd holds, which SIGHUP
// and SIGTERM reach), and without rtcprobe-serve beside it or on PATH it
// says which program is missing and how to get it, exit 3.
func TestServeRunsTheServerInPlace(t *testing.T) {
	p := startServe(t, nil)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(exe) != "rtcprobe-serve" || filepath.Dir(exe) != filepath.Dir(binary) {
		t.Errorf("the serving process runs %s, want rtcprobe-serve beside %s", exe, binary)
	}

	alone := filepath.Join(t.TempDir(), "rtcprobe")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(alone, "serve")
	cmd.Env = []string{"PATH=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInternal ||
		!strings.Contains(string(out), "rtcprobe-serve, the server, is neither beside rtcprobe nor on PATH") ||
		!strings.Contains(string(out), "make build builds both") {
		t.Errorf("rtcprobe serve without rtcprobe-serve: %v\n%s\nwant exit 3 naming the program and how to get it", err, out)
	}

	// One beside it that lost its execute bits is passed over for PATH's.
	if err := os.WriteFile(filepath.Join(filepath.Dir(alone), "rtcprobe-serve"), []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(alone, "serve", "-h")
	cmd.Env = []string{"PATH=" + filepath.Dir(binary)}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Usage: rtcprobe serve") {
		t.Errorf("rtcprobe serve -h with a non-executable rtcprobe-serve beside it and a good one on PATH: %v\n%s", err, out)
	}
}
