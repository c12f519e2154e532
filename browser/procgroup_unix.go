//go:build unix && !linux

package browser

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// groupProcAttr starts the browser in a process group of its own, so
// killGroup ends its content processes too. Only Linux has a
// parent-death signal: elsewhere a browser outlives a killed rtcprobe.
func groupProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the process group p leads.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }

// waitGroupGone waits (at most d) until no process of the group is left,
// asking the kernel every 20 ms: without /proc and pidfds there is
// nothing to wait on.
func waitGroupGone(pgid int, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return
		}
	}
}

// killProfile is Linux's (it finds the processes in /proc): here a browser
// is closed the slow way.
func killProfile(string, string, time.Duration) bool { return false }

// exeDirOf is Linux's (/proc).
func exeDirOf(int) string { return "" }
