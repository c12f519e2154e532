package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer made from a list.
type File struct {
	Name     string      // the path in the image, absolute
	Mode     fs.FileMode // permissions, plus fs.ModeDir for a directory
	UID, GID int
	Data     []byte // the content, or
	Src      string // the file on disk holding it
}

// writeListLayer writes files, in the order given, as a gzipped tar at
// path: every entry has mtime and no user or group names, so the same
// files give the same bytes.
func writeListLayer(path string, files []File, mtime time.Time) error {
	return writeLayer(path, func(tw *tar.Writer) error {
		for _, f := range files {
			if err := addFile(tw, f, mtime); err != nil {
				return err
			}
		}
		return nil
	})
}

func addFile(tw *tar.Writer, f File, mtime time.Time) error {
	h := &tar.Header{Name: strings.TrimPrefix(f.Name, "/"), Mode: int64(f.Mode.Perm()), Uid: f.UID, Gid: f.GID, ModTime: mtime}
	if f.Mode&fs.ModeSticky != 0 {
		h.Mode |= 0o1000
	}
	if f.Mode.IsDir() {
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		return tw.WriteHeader(h)
	}
	h.Typeflag = tar.TypeReg
	var r io.Reader = bytes.NewReader(f.Data)
	h.Size = int64(len(f.Data))
	if f.Src != "" {
		src, err := os.Open(f.Src)
		if err != nil {
			return err
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		r, h.Size = src, st.Size()
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := io.Copy(tw, r)
	return err
}

// writeLayer writes the tar that add fills, gzipped, to path. gzip's
// own header carries no name and no time.
func writeLayer(path string, add func(*tar.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	gz, err := gzip.NewWriterLevel(out, gzip.DefaultCompression)
	if err != nil {
		out.Close()
		return err
	}
	tw := tar.NewWriter(gz)
	err = add(tw)
	for _, close := range []func() error{tw.Close, gz.Close, out.Close} {
		if cerr := close(); err == nil {
			err = cerr
		}
	}
	return err
}

// openLayer reads a gzipped tar written above as an OCI layer.
func openLayer(path string) (v1.Layer, error) {
	return tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
}
