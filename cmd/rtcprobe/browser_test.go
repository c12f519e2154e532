package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

func TestBrowserFlags(t *testing.T) {
	t.Setenv("RTCPROBE_BROWSER", "")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"bad media", []string{"--media", "webcam"}, exitUsage, `invalid --media "webcam"`},
		{"missing browser skips: nothing tested", []string{"--checks", "browser.api", "--browser", "/nonexistent/chrome", "--json", "-"}, exitNothing, `"status": "skip"`},
		{"missing browser required fails", []string{"--checks", "browser.api", "--browser", "/nonexistent/chrome", "--require-browser", "--json", "-"}, exitFail, `"status": "fail"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

// TestInterruptLeavesNoBrowser interrupts a run in the middle of its
// browser checks: rtcprobe must exit promptly, leaving no browser process
// and no profile directory (found through a TMPDIR of the test's own).
func TestInterruptLeavesNoBrowser(t *testing.T) {
	testenv.Heavy(t, "a browser")
	if _, err := browser.Find(""); err != nil {
		testenv.Unavailable(t, "%v (%s)", err, browser.InstallHint)
	}
	// A short TMPDIR of the test's own (t.TempDir() is too long for
	// Chrome's socket path, so rtcprobe would fall back to /tmp).
	tmp, err := os.MkdirTemp("/tmp", "rp-int-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	cmd := exec.Command(binary, "--checks", "browser.loopback,browser.interop", "--no-color")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	// Wait until the browser runs with its profile under tmp.
	deadline := time.After(30 * time.Second)
	for len(processesMentioning(tmp)) == 0 {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("rtcprobe exited (%v) before its browser was seen:\n%s", err, out.String())
		case <-deadline:
			t.Fatal("the browser never started")
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond) // let the checks get under way in their tabs
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting rtcprobe: %v; its output:\n%s", err, out.String())
	}
	select {
	case err := <-exited:
		exited <- err
	case <-time.After(10 * time.Second):
		t.Fatal("rtcprobe did not exit within 10 s of SIGINT")
	}
	if left := processesMentioning(tmp); len(left) > 0 {
		t.Errorf("browser processes left after the interrupt: %v", left)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("left in TMPDIR: %v", entries)
	}
}

// processesMentioning lists PIDs whose command line contains s.
func processesMentioning(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// With no servers named, the browser trusts the embedded server's
// certificate as rtcprobe does: its turns: subjects run and pass.
func TestDefaultRunBrowserUsesEmbeddedTURNS(t *testing.T) {
	testenv.Heavy(t, "a browser")
	if _, err := browser.Find(""); err != nil {
		testenv.Unavailable(t, "%v (%s)", err, browser.InstallHint)
	}
	res := rtcprobe(t, "--checks", "browser.ice,browser.interop", "--json", "-")
	var rep jsonReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("%v; exit %d, stderr %s", err, res.code, res.stderr)
	}
	turns := 0
	for _, c := range rep.Checks {
		if !strings.Contains(c.Target, "turns:") {
			continue
		}
		turns++
		// Warnings are allowed: a loaded machine can connect slowly.
		if c.Status != "pass" && c.Status != "warn" {
			t.Errorf("%s %s: %s %s", c.ID, c.Target, c.Status, c.Error)
		}
	}
	if turns != 2 {
		t.Errorf("%d turns: subjects, want browser.ice and a relay-only browser.interop: %+v", turns, rep.Checks)
	}
}
