package browser

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// groupProcAttr starts the browser in a process group of its own, so
// killGroup ends its content processes too; the parent dies with
// rtcprobe (its content processes follow when their channel to it
// closes).
func groupProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group p leads.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }

// waitGroupGone waits (at most d) until the group's processes have exited.
func waitGroupGone(pgid int, d time.Duration) { waitExited(groupMembers(pgid), d) }

// groupMembers lists the live processes of a process group.
func groupMembers(pgid int) []int {
	return processesWhere("stat", func(stat []byte) bool {
		// pid (comm) state ppid pgrp …: the fields after the last ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		return len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z"
	})
}

// processesWhere lists the PIDs whose /proc/PID/file keep accepts.
func processesWhere(file string, keep func([]byte) bool) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if data, err := os.ReadFile(filepath.Join("/proc", e.Name(), file)); err == nil && keep(data) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitExited waits (at most d in all) until the processes have exited,
// through a pidfd each: they are not this process's children, so there
// is nothing to wait(2) for.
func waitExited(pids []int, d time.Duration) {
	end := time.Now().Add(d)
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone already
		}
		left := time.Until(end)
		if left > 0 {
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds()))
		}
		_ = unix.Close(fd)
	}
}

// processesUsing lists the PIDs whose command line mentions dir (Chrome
// passes --user-data-dir to every child process).
func processesUsing(dir string) []int {
	return processesWhere("cmdline", func(cmd []byte) bool { return strings.Contains(string(cmd), dir) })
}

// killProfile kills every process of the browser whose profile is dir,
// all at once, and waits (at most d) until they have exited: a closing
// Chrome spends a quarter of a second shutting down a profile that is
// thrown away next. Only processes running an executable from exeDir (the
// browser's own directory: its children and crash handler) are taken, so
// another program that names the profile on its command line is left
// alone. False when none was found (then the caller closes it the slow
// way).
func killProfile(dir, exeDir string, d time.Duration) bool {
	var pids []int
	for _, pid := range processesUsing(dir) {
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil && filepath.Dir(exe) == exeDir {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitExited(pids, d)
	return len(pids) > 0
}

// exeDirOf is the directory of the executable process pid runs.
func exeDirOf(pid int) string {
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	if err != nil {
		return ""
	}
	return filepath.Dir(exe)
}
