package pgtest

import "syscall"

// asUser runs PostgreSQL as the unprivileged user (it refuses root), and
// has the kernel kill it when the test binary dies.
func asUser(uid, gid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, Pdeathsig: syscall.SIGKILL}
}
