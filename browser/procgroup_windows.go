package browser

import (
	"os"
	"syscall"
	"time"
)

// Windows has no process groups to kill at once: the parent is killed,
// and its content processes exit when their channel to it closes.
func groupProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { _ = p.Kill() }

func waitGroupGone(int, time.Duration) {}

// killProfile is Linux's (it finds the processes in /proc): here a browser
// is closed the slow way.
func killProfile(string, string, time.Duration) bool { return false }

// exeDirOf is Linux's (/proc).
func exeDirOf(int) string { return "" }
