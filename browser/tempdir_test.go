package browser

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShortTempBase(t *testing.T) {
	t.Setenv("TMPDIR", "/tmp/"+strings.Repeat("x", 80))
	if got := shortTempBase(); got != "/tmp" {
		t.Errorf("long TMPDIR: shortTempBase() = %q, want /tmp", got)
	}
	t.Setenv("TMPDIR", "/tmp/short")
	if got := shortTempBase(); got != "/tmp/short" {
		t.Errorf("short TMPDIR: shortTempBase() = %q", got)
	}
}

// A run killed outright leaves its directory; the next run removes what
// no live process holds, and nothing else.
func TestRemoveStaleTempDirs(t *testing.T) {
	base := t.TempDir()
	host, _ := os.Hostname()
	mk := func(name string) string {
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Join(dir, "profile"), 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	old := time.Now().Add(-time.Hour)

	held, lock, err := makeTempDir(base) // a live run's
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	released, lock2, err := makeTempDir(base) // a killed run's: its lock is free
	if err != nil {
		t.Fatal(err)
	}
	_ = lock2.Close()
	unlockedNew := mk(tempPrefix + "new") // an older rtcprobe's, or one being set up
	unlockedOld := mk(tempPrefix + "old")
	deadProfile := mk(chromedpPrefix + "1")
	liveProfile := mk(chromedpPrefix + "2")
	otherHost := mk(chromedpPrefix + "3")
	unrelated := mk("keep-me")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for dir, target := range map[string]string{
		deadProfile: fmt.Sprintf("%s-%d", host, dead.Process.Pid),
		liveProfile: fmt.Sprintf("%s-%d", host, os.Getpid()),
		otherHost:   fmt.Sprintf("elsewhere-%d", dead.Process.Pid),
	} {
		if err := os.Symlink(target, filepath.Join(dir, "SingletonLock")); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{unlockedOld, unrelated} {
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
	}

	removed := removeStaleTempDirs(base, base)
	slices.Sort(removed)
	want := []string{deadProfile, released, unlockedOld}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, dir := range []string{held, unlockedNew, liveProfile, otherHost, unrelated} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
}
