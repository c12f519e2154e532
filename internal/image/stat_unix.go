//go:build unix

package image

import (
	"io/fs"
	"syscall"
)

func statOf(fi fs.FileInfo) fileStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}
	}
	return fileStat{uid: int(st.Uid), gid: int(st.Gid), nlink: uint64(st.Nlink), dev: uint64(st.Dev), ino: st.Ino}
}
