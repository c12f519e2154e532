//go:build !linux

package pgtest

import "syscall"

// asUser: the throw-away cluster is a Linux fixture (Debian's
// PostgreSQL, started as its user); elsewhere it runs as the caller,
// which keeps the package compiling for cross-builds and vet.
func asUser(int, int) *syscall.SysProcAttr { return nil }
