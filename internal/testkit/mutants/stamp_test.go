//go:build mutants

package mutants

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A kept mutant binary is reused without asking go when its stamp says it
// was built from the same module tree, toolchain and mutated file: asking
// go costs about a second per mutant (loading and hashing every package),
// which for the whole list is a minute. Anything else rebuilds it through
// go, which then decides for itself.

// inputsDigest hashes what every mutant binary is built from besides its
// mutated file: each file of the module (paths and bytes; not .git, bin,
// dist, node_modules or dot-directories, which go does not build from)
// and the go environment that decides the build.
func inputsDigest(t *testing.T, goBin, dir string) string {
	t.Helper()
	h := sha256.New()
	env := exec.Command(goBin, "env", "GOVERSION", "GOFLAGS", "CGO_ENABLED", "GOOS", "GOARCH", "GOAMD64", "GOARM64", "GOEXPERIMENT", "GOROOT", "GOMODCACHE")
	env.Dir, env.Env = dir, mutantEnv("")
	out, err := env.Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	h.Write(out)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "bin" || name == "dist" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h.Write([]byte(rel + "\x00"))
		_, err = io.Copy(h, f)
		h.Write([]byte{0})
		return err
	})
	if err != nil {
		t.Fatalf("hashing the module: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stampOf is what a mutant binary's stamp holds: the inputs, and the
// bytes of its overlay and mutated file.
func stampOf(inputs string, files ...string) string {
	h := sha256.New()
	h.Write([]byte(inputs))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// upToDate reports whether bin exists and its stamp matches.
func upToDate(bin, stamp string) bool {
	if stamp == "" {
		return false
	}
	if _, err := os.Stat(bin); err != nil {
		return false
	}
	got, err := os.ReadFile(bin + ".stamp")
	return err == nil && string(got) == stamp
}
