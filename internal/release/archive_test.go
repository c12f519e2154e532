package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestArchivesAreReproducible: the same inputs give the same bytes (no
// build time, owner or gzip name inside), and what is read back is what
// went in: names under one top directory, modes, the fixed time.
func TestArchivesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rtcprobe")
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(bin, []byte("\x7fELF binary"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(readme, []byte("# rtcprobe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Name: "rtcprobe", Src: bin, Mode: 0o755}, {Name: "README.md", Src: readme, Mode: 0o644}}
	mtime := time.Unix(1700000000, 0).UTC()
	for _, tc := range []struct {
		name  string
		write func(io.Writer, string, []Entry, time.Time) error
		read  func(t *testing.T, b []byte) map[string]archived
	}{{"tar.gz", WriteTarGz, readTarGz}, {"zip", WriteZip, readZip}} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := tc.write(&a, "rtcprobe_v1_linux_amd64", entries, mtime); err != nil {
				t.Fatal(err)
			}
			// Touch the sources: their own times and modes must not leak in.
			_ = os.Chtimes(bin, time.Now(), time.Now())
			if err := tc.write(&b, "rtcprobe_v1_linux_amd64", entries, mtime); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two archives of the same files differ")
			}
			got := tc.read(t, a.Bytes())
			want := map[string]archived{
				"rtcprobe_v1_linux_amd64/rtcprobe":  {0o755, "\x7fELF binary"},
				"rtcprobe_v1_linux_amd64/README.md": {0o644, "# rtcprobe\n"},
			}
			for name, w := range want {
				if g, ok := got[name]; !ok || g != w {
					t.Errorf("%s: got %+v (present %v), want %+v", name, g, ok, w)
				}
			}
		})
	}
}

type archived struct {
	mode os.FileMode
	body string
}

func readTarGz(t *testing.T, b []byte) map[string]archived {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q, time %v", gz.Name, gz.ModTime)
	}
	out := map[string]archived{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 1700000000 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: time %v, owner %d:%d %q:%q; want the fixed time and root, unnamed", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		body, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			out[h.Name] = archived{os.FileMode(h.Mode), string(body)}
		}
	}
}

func readZip(t *testing.T, b []byte) map[string]archived {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]archived{}
	for _, f := range zr.File {
		if !f.Modified.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: time %v", f.Name, f.Modified)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		_ = rc.Close()
		out[f.Name] = archived{f.Mode().Perm(), string(body)}
	}
	return out
}

// TestSHA256SUMSChecks: sha256sum -c accepts the file, and refuses it
// once a listed file changes.
func TestSHA256SUMSChecks(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, n := range []string{"b.tar.gz", "a.zip"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if err := WriteSHA256SUMS(dir, files); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if want := "a.zip\n"; !bytes.Contains(raw, []byte("  "+want)) || bytes.Index(raw, []byte("a.zip")) > bytes.Index(raw, []byte("b.tar.gz")) {
		t.Errorf("SHA256SUMS not sorted by name or not in sha256sum's format:\n%s", raw)
	}
	check := func() ([]byte, error) {
		cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := check(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	if err := os.WriteFile(files[0], []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err == nil || !bytes.Contains(out, []byte("b.tar.gz: FAILED")) {
		t.Fatalf("sha256sum -c did not refuse the changed file: %v\n%s", err, out)
	}
}
