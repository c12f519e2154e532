package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// writeTreeLayer writes the directory tree at root as a gzipped tar at
// path, in lexical order, with owners and modes as on disk and no user
// or group names. A time later than mtime becomes mtime (files the
// build itself wrote). The contents of dev, proc and sys are left out:
// a container runtime provides them. Files linked more than once stay
// hard links.
func writeTreeLayer(path, root string, mtime time.Time) error {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	return writeLayer(path, func(tw *tar.Writer) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil || rel == "." {
				return err
			}
			rel = filepath.ToSlash(rel)
			switch filepath.Dir(rel) {
			case "dev", "proc", "sys":
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			if fi.Mode()&(fs.ModeSocket|fs.ModeNamedPipe) != 0 {
				return nil
			}
			link := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			h, err := tar.FileInfoHeader(fi, link)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			st := statOf(fi)
			h.Name, h.Uname, h.Gname = rel, "", ""
			h.Uid, h.Gid = st.uid, st.gid
			h.ModTime = fi.ModTime().Truncate(time.Second)
			if h.ModTime.After(mtime) {
				h.ModTime = mtime
			}
			h.AccessTime, h.ChangeTime, h.Format = time.Time{}, time.Time{}, tar.FormatUnknown
			if fi.IsDir() {
				h.Name += "/"
			}
			if fi.Mode().IsRegular() && st.nlink > 1 {
				key := inode{st.dev, st.ino}
				if first, ok := seen[key]; ok {
					h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
					return tw.WriteHeader(h)
				}
				seen[key] = rel
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.CopyN(tw, f, h.Size)
			return err
		})
	})
}

// fileStat is what a layer keeps of a file besides its mode and times:
// its owner, and its inode when it has other hard links (statOf; off
// Unix, root's and no links: the browsers image is built on Linux only).
type fileStat struct {
	uid, gid int
	nlink    uint64
	dev, ino uint64
}
