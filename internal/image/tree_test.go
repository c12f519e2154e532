package image

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTreeLayer: a directory tree becomes a layer in lexical order with
// owners, modes (setuid too), symlinks and hard links as on disk, times
// clamped to the fixed time, and the contents of dev, proc and sys left
// out.
func TestTreeLayer(t *testing.T) {
	root := t.TempDir()
	mtime := time.Unix(1700000000, 0).UTC()
	old := time.Unix(1600000000, 0)
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write("usr/bin/a", "binary", 0o755|os.ModeSetuid)
	write("etc/old", "old", 0o644)
	write("dev/null", "", 0o644)
	write("proc/1/stat", "", 0o644)
	if err := os.Chtimes(filepath.Join(root, "etc/old"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "usr/bin/s")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/a"), filepath.Join(root, "usr/bin/h")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(root, "etc/old"), 12, 34); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "layer.tar.gz")
	if err := writeTreeLayer(path, root, mtime); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: user and group names %q %q, want none", h.Name, h.Uname, h.Gname)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %c %o %d:%d %s %q %s", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid,
			h.ModTime.UTC().Format(time.RFC3339), body, h.Linkname))
	}
	me := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	owner := me
	if os.Geteuid() == 0 {
		owner = "12:34"
	}
	now, then := mtime.Format(time.RFC3339), old.UTC().Format(time.RFC3339)
	want := []string{
		"dev/ 5 755 " + me + " " + now + ` "" `,
		"etc/ 5 755 " + me + " " + now + ` "" `,
		"etc/old 0 644 " + owner + " " + then + ` "old" `,
		"proc/ 5 755 " + me + " " + now + ` "" `,
		"usr/ 5 755 " + me + " " + now + ` "" `,
		"usr/bin/ 5 755 " + me + " " + now + ` "" `,
		"usr/bin/a 0 4755 " + me + " " + now + ` "binary" `,
		"usr/bin/h 1 4755 " + me + " " + now + ` "" usr/bin/a`,
		"usr/bin/s 2 777 " + me + " " + now + ` "" a`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("layer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
