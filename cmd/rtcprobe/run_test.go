package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reportCheck is what these tests read of a check in a JSON report.
type reportCheck struct {
	ID          string             `json:"id"`
	Status      string             `json:"status"`
	Metrics     map[string]float64 `json:"metrics"`
	Interrupted bool               `json:"interrupted"`
	Error       string             `json:"error"`
}

// jsonChecks reads the checks of the JSON report a run printed.
func jsonChecks(t *testing.T, res cliResult) []reportCheck {
	t.Helper()
	var rep struct {
		Checks []reportCheck `json:"checks"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("not a JSON report (exit %d): %v\n%s\n%s", res.code, err, res.stdout, res.stderr)
	}
	return rep.Checks
}

// A flag beats the config file, end to end: --turn-packets 50 with
// turn_packets: 3 in the file sends 50 packets.
func TestFlagBeatsConfigEndToEnd(t *testing.T) {
	cfg := writeConfig(t, "version: 1\noptions:\n  turn_packets: 3\n")
	for _, tt := range []struct {
		args []string
		want float64
	}{
		{[]string{"--config", cfg}, 3},
		{[]string{"--config", cfg, "--turn-packets", "50"}, 50},
		{[]string{"--turn-packets", "50", "--config", cfg}, 50},
	} {
		res := rtcprobe(t, append(tt.args, "--checks", "turn.udp", "--json", "-")...)
		for _, c := range jsonChecks(t, res) {
			if got := c.Metrics["packets_sent"]; got != tt.want {
				t.Errorf("%q: %s sent %v packets, want %v", tt.args, c.ID, got, tt.want)
			}
		}
	}
}

// validate refuses an out-of-range option with file:line and the range,
// and --checks takes a glob.
func TestValidateRangeAndGlob(t *testing.T) {
	cfg := writeConfig(t, "version: 1\noptions:\n  stun_count: 1000000000\n")
	res := rtcprobe(t, "validate", "--config", cfg)
	if want := cfg + ":3: options.stun_count: invalid value \"1000000000\" (want a whole number from 1 to 1000)"; res.code != exitUsage || !strings.Contains(res.stderr, want) {
		t.Errorf("validate: exit %d, stderr %q; want 2 and %q", res.code, res.stderr, want)
	}
	res = rtcprobe(t, "--checks", "ice.*", "--json", "-")
	var ids []string
	for _, c := range jsonChecks(t, res) {
		ids = append(ids, c.ID)
	}
	if res.code != exitOK || strings.Join(ids, ",") != "ice.all,ice.relay,ice.relay" {
		t.Errorf("--checks 'ice.*': exit %d, checks %q (%s)", res.code, ids, res.stderr)
	}
}

// A run that would check nothing is a usage error saying why, not a pass.
func TestNothingToCheckExits2(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--checks", "turn", "stun:127.0.0.1:9"}, "need a turn: or turns: server"},
		{[]string{"--checks", "signaling"}, "needs a signaling URL"},
		{[]string{"--checks", "ice.relay", "stun:127.0.0.1:9"}, "ice.relay needs a turn: server"},
	} {
		res := rtcprobe(t, tt.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 saying %q", tt.args, res.code, res.stderr, res.stdout, tt.want)
		}
	}
}

// Output paths are opened before anything is probed: a bad one exits 2
// naming its flag, fast, and leaves no other report behind.
func TestBadOutputPathsExit2BeforeProbing(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "report.html")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--json", dir}, "--json " + dir + ": is a directory"},
		{[]string{"--junit", filepath.Join(dir, "missing", "x.xml")}, "--junit"},
		{[]string{"--markdown", "/dev/full"}, "--markdown /dev/full: no space left on device"},
		{[]string{"--html", other, "--stats", "/dev/full"}, "--stats /dev/full"},
		{[]string{"--json", ""}, `invalid --json ""`},
		{[]string{"--json", "-", "--junit", "-"}, "both ask for stdout"},
	} {
		res := rtcprobe(t, append(tt.args, "--checks", "stun.udp,media.audio", "--media-duration", "5s")...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 naming %q", tt.args, res.code, res.stderr, tt.want)
		}
		if res.took > 3*time.Second {
			t.Errorf("%q: took %s: it probed before refusing the path", tt.args, res.took)
		}
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("%s was left behind by a run that refused another path", other)
	}
}

// A report file the user had before the run is theirs: when another
// output path is refused, it keeps its content (issue #23, bug 1), in
// every order of the flags; a file this run created is removed.
func TestBadOutputPathKeepsExistingReports(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	created := filepath.Join(dir, "new.xml")
	bad := filepath.Join(dir, "nonexistent", "x.html")
	const content = `{"the": "user's previous report"}`
	for _, args := range [][]string{
		{"--json", old, "--junit", created, "--html", bad},
		{"--html", bad, "--json", old, "--junit", created},
		{"--json", old, "--junit", created, "--stats", "/dev/full"},
	} {
		if err := os.WriteFile(old, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		res := rtcprobe(t, append(args, "--checks", "stun.udp")...)
		want := bad
		if args[len(args)-1] == "/dev/full" {
			want = "--stats /dev/full"
		}
		if res.code != exitUsage || !strings.Contains(res.stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 naming %q", args, res.code, res.stderr, want)
		}
		data, err := os.ReadFile(old)
		if err != nil || string(data) != content {
			t.Errorf("%q: %s, which the user had before the run, now reads %q (%v)", args, old, data, err)
		}
		if fi, err := os.Stat(old); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%q: %s has mode %v, want its own 0600", args, old, fi.Mode().Perm())
		}
		if _, err := os.Stat(created); err == nil {
			t.Errorf("%q: %s, created by the refused run, was left behind", args, created)
		}
	}
	// A run that goes ahead replaces the old report.
	res := rtcprobe(t, "--json", old, "--checks", "stun.udp")
	data, _ := os.ReadFile(old)
	if res.code != exitOK || !strings.Contains(string(data), `"schema": "rtcprobe/v1"`) || strings.Contains(string(data), "previous") {
		t.Errorf("a good run: exit %d (%s), %s reads %q", res.code, res.stderr, old, data)
	}
}

// - writes any report to stdout.
func TestEveryReportCanGoToStdout(t *testing.T) {
	for flag, want := range map[string]string{"--json": `"schema": "rtcprobe/v1"`, "--junit": "<testsuites", "--html": "<!DOCTYPE html>", "--markdown": "| Check |"} {
		res := rtcprobe(t, flag, "-", "--checks", "stun.udp")
		if res.code != exitOK || !strings.Contains(res.stdout, want) || strings.Contains(res.stdout, "┌") {
			t.Errorf("%s -: exit %d, stdout lacks %q or has the table:\n%s", flag, res.code, want, res.stdout)
		}
	}
}

// SIGTERM mid-run: exit 143, the report is written, unfinished checks are
// interrupted skips (not failures), and stderr says so without noise.
func TestSIGTERMWritesAnInterruptedReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(binary, "--checks", "stun.udp,media.audio", "--media-duration", "30s", "--json", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // into the media sample
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exit took %s after SIGTERM", took)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Errorf("exit %v, want 143", err)
	}
	data, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("no report after SIGTERM: %v", rerr)
	}
	res := cliResult{stdout: string(data)}
	statuses := map[string]string{}
	for _, c := range jsonChecks(t, res) {
		statuses[c.ID] = c.Status
		if c.ID == "media.audio" && (!c.Interrupted || c.Status != "skip") {
			t.Errorf("media.audio: status %s interrupted %v (%s); want an interrupted skip", c.Status, c.Interrupted, c.Error)
		}
	}
	if statuses["stun.udp"] != "pass" {
		t.Errorf("stun.udp finished before the signal but reads %q", statuses["stun.udp"])
	}
	if !strings.Contains(string(data), `"interrupted": true`) {
		t.Error("the report does not say the run was interrupted")
	}
	if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupted") {
		t.Errorf("stderr %q: want one line saying the run was interrupted", stderr.String())
	}
}

// SIGINT mid-run (Ctrl-C): exit 130, 128 + SIGINT's number, as shells
// report it, with the report written and marked interrupted.
func TestSIGINTExits130(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(binary, "--checks", "media.audio", "--media-duration", "30s", "--json", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // into the media sample
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130 (stderr %q)", err, stderr.String())
	}
	if data, err := os.ReadFile(out); err != nil || !strings.Contains(string(data), `"interrupted": true`) {
		t.Errorf("the report does not say the run was interrupted: %v\n%s", err, data)
	}
}
