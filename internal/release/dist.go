package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Options say what Dist builds.
type Options struct {
	Root     string    // the module
	Out      string    // the directory the release files go to
	Version  string    // stamped into the binary (main.version)
	MTime    time.Time // every archive and package entry's time
	Targets  []Target
	Packages bool // also .deb and .rpm for the linux targets
}

// Dist builds the binary for each target, archives it with the README
// (and LICENSE, when the module has one), packages the linux ones when
// asked, and writes SHA256SUMS over everything. It returns the files
// written, SHA256SUMS last.
func Dist(ctx context.Context, o Options) ([]string, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "rtcprobe-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var docs []Entry
	for _, d := range []string{"README.md", "LICENSE"} {
		if _, err := os.Stat(filepath.Join(o.Root, d)); err == nil {
			docs = append(docs, Entry{Name: d, Src: filepath.Join(o.Root, d), Mode: 0o644})
		}
	}
	var out []string
	for _, t := range o.Targets {
		bin := filepath.Join(work, t.OS+"_"+t.Arch)
		if err := Build(ctx, o.Root, t, o.Version, bin); err != nil {
			return nil, err
		}
		name, err := archive(o, t, bin, docs)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		if o.Packages && t.OS == "linux" {
			for _, format := range []string{"deb", "rpm"} {
				p, err := Package(o.Root, format, t, o.Version, bin, o.Out, o.MTime)
				if err != nil {
					return nil, err
				}
				out = append(out, p)
			}
		}
	}
	if err := WriteSHA256SUMS(o.Out, out); err != nil {
		return nil, err
	}
	return append(out, filepath.Join(o.Out, "SHA256SUMS")), nil
}

// archive writes rtcprobe_VERSION_OS_ARCH.tar.gz (.zip for Windows),
// whose one top directory has the same name: the programs built in bin
// and the docs.
func archive(o Options, t Target, bin string, docs []Entry) (string, error) {
	dir := fmt.Sprintf("rtcprobe_%s_%s_%s", o.Version, t.OS, t.Arch)
	var entries []Entry
	for _, p := range Programs {
		entries = append(entries, Entry{Name: t.Exe(p), Src: filepath.Join(bin, t.Exe(p)), Mode: 0o755})
	}
	entries = append(entries, docs...)
	write, ext := WriteTarGz, ".tar.gz"
	if t.OS == "windows" {
		write, ext = WriteZip, ".zip"
	}
	name := filepath.Join(o.Out, dir+ext)
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if err := write(f, dir, entries, o.MTime); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}
