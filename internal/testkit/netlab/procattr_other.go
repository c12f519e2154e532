//go:build !linux

package netlab

import "syscall"

// diesWithTest: only Linux has a parent-death signal; the labs need
// Linux network namespaces anyway, so elsewhere this only keeps the
// package compiling for cross-builds and vet.
func diesWithTest() *syscall.SysProcAttr { return nil }
