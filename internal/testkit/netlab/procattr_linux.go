package netlab

import "syscall"

// diesWithTest makes the kernel kill a helper process when the test
// binary that started it dies, so no lab process outlives a crashed test.
func diesWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
