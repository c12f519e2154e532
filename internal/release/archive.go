package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// Entry is one file of an archive: its path inside, where it comes from,
// and its mode.
type Entry struct {
	Name string // slash-separated, inside the archive's top directory
	Src  string // the file on disk
	Mode fs.FileMode
}

// WriteTarGz writes entries under dir/ as a gzipped tar. Every header has
// mtime, uid and gid 0 and no user names, and gzip's own header has no
// name or time, so the same inputs give the same bytes.
func WriteTarGz(w io.Writer, dir string, entries []Entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	for _, e := range entries {
		if err := addTar(tw, dir, e, mtime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addTar(tw *tar.Writer, dir string, e Entry, mtime time.Time) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, e.Name), Mode: int64(e.Mode.Perm()),
		Size: st.Size(), ModTime: mtime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// WriteZip writes entries under dir/ as a zip, with fixed times and modes
// (kept as Unix modes too, for unzip on Linux and macOS).
func WriteZip(w io.Writer, dir string, entries []Entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		if err := addZip(zw, dir, e, mtime); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addZip(zw *zip.Writer, dir string, e Entry, mtime time.Time) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	h := &zip.FileHeader{Name: path.Join(dir, e.Name), Method: zip.Deflate, Modified: mtime.UTC()}
	h.SetMode(e.Mode.Perm())
	zf, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(zf, f)
	return err
}
