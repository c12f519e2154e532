package browser

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A run's browser lives in one temporary directory, rtcprobe-browser-*:
// Chrome's TMPDIR and its profile (user data dir). Close removes it; a run
// killed outright (SIGKILL) cannot, so each launch first removes the
// directories no live run holds. A run holds its directory with an
// exclusive flock on tempLockName inside it, which the kernel releases
// when the process dies, however it dies.

const (
	tempPrefix   = "rtcprobe-browser-"
	tempLockName = "rtcprobe.lock"
	// chromedpPrefix is the profile directory chromedp makes when not
	// given one (rtcprobe before it kept the profile in its own
	// directory, and other chromedp programs).
	chromedpPrefix = "chromedp-runner"
	// unlockedAge is how old a directory without a lock (made by an older
	// rtcprobe, or one that is being set up this instant) must be before
	// it counts as abandoned.
	unlockedAge = 10 * time.Minute
)

// makeTempDir creates a run's directory under base and locks it; the
// returned file holds the lock until it is closed.
func makeTempDir(base string) (dir string, lock *os.File, err error) {
	dir, err = os.MkdirTemp(base, tempPrefix)
	if err != nil {
		return "", nil, err
	}
	lock, err = os.OpenFile(filepath.Join(dir, tempLockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = tryLock(lock)
	}
	if err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// removeStaleTempDirs removes, in each base directory, the
// rtcprobe-browser-* directories no running rtcprobe holds and the
// chromedp-runner* profiles whose browser is gone. It returns what it
// removed. Errors are ignored: what cannot be removed now is tried again
// by the next run.
func removeStaleTempDirs(bases ...string) []string {
	var removed []string
	seen := map[string]bool{}
	for _, base := range bases {
		if seen[base] {
			continue
		}
		seen[base] = true
		entries, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(base, e.Name())
			stale := false
			switch {
			case strings.HasPrefix(e.Name(), tempPrefix):
				stale = abandonedRunDir(dir)
			case strings.HasPrefix(e.Name(), chromedpPrefix):
				stale = abandonedProfile(dir)
			}
			if stale && os.RemoveAll(dir) == nil {
				removed = append(removed, dir)
			}
		}
	}
	return removed
}

// abandonedRunDir is true when no process holds the directory's lock (or,
// without a lock file, when the directory is old).
func abandonedRunDir(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, tempLockName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return olderThan(dir, unlockedAge)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	// Taking the lock proves its holder is gone; it is released on close.
	return tryLock(f) == nil
}

// abandonedProfile is true when the profile's SingletonLock names a
// process of this host that no longer runs (or, without one, when the
// directory is old).
func abandonedProfile(dir string) bool {
	target, err := os.Readlink(filepath.Join(dir, "SingletonLock"))
	if err != nil {
		return olderThan(dir, unlockedAge)
	}
	host, pidStr, ok := strings.Cut(target, "-")
	for ok && strings.Contains(pidStr, "-") { // host names may hold dashes
		var more string
		more, pidStr, ok = strings.Cut(pidStr, "-")
		host += "-" + more
	}
	pid, err := strconv.Atoi(pidStr)
	if me, _ := os.Hostname(); !ok || err != nil || pid <= 0 || host != me {
		return false
	}
	return processGone(pid)
}

func olderThan(path string, age time.Duration) bool {
	fi, err := os.Stat(path)
	return err == nil && time.Since(fi.ModTime()) > age
}
