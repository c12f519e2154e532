package release

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// The files a package installs, from the module's examples/systemd.
const (
	UnitPath   = "/usr/lib/systemd/system/rtcprobe.service"
	ConfigPath = "/etc/rtcprobe/rtcprobe.yml"
	BinDir     = "/usr/bin" // every program (Programs)
	BinaryPath = BinDir + "/rtcprobe"
)

// PackageVersion turns a `git describe` version into one dpkg and rpm
// both order sensibly: v1.2.3 → 1.2.3, v1.2.3-4-gabc → 1.2.3.4.gabc, and
// a bare commit (no tag yet) → 0.0.0~gitabc, which sorts before any
// release.
func PackageVersion(v string) string {
	if m := regexp.MustCompile(`^v?([0-9]+\.[0-9]+[0-9A-Za-z.]*)(.*)$`).FindStringSubmatch(v); m != nil {
		return m[1] + strings.ReplaceAll(m[2], "-", ".")
	}
	return "0.0.0~git" + strings.ReplaceAll(v, "-", ".")
}

// packageArch names the Go architectures packages are made for as each
// format does.
var packageArch = map[string]map[string]string{
	"deb": {"amd64": "amd64", "arm64": "arm64"},
	"rpm": {"amd64": "x86_64", "arm64": "aarch64"},
}

// Package writes the .deb or .rpm (format "deb" or "rpm") of the programs
// built for t in the directory bin, to dir; it returns the file's path. root is the
// module, whose examples/systemd holds the unit, the default config and
// the maintainer scripts.
func Package(root, format string, t Target, version, bin, dir string, mtime time.Time) (string, error) {
	arch := packageArch[format][t.Arch]
	if t.OS != "linux" || arch == "" {
		return "", fmt.Errorf("no %s package for %s", format, t)
	}
	sys := filepath.Join(root, "examples", "systemd")
	info := &nfpm.Info{
		Name:          "rtcprobe",
		Arch:          arch,
		Platform:      "linux",
		Version:       PackageVersion(version),
		VersionSchema: "none",
		Release:       "1",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    "rtcprobe <rtcprobe@users.noreply.github.com>",
		Description: "WebRTC connectivity checks: STUN, TURN, ICE, media, browsers\n" +
			"rtcprobe tells whether WebRTC works from where it runs, and if not why.\n" +
			"The package runs `rtcprobe serve` (Prometheus exporter and pre-call page)\n" +
			"as the systemd service rtcprobe.service.",
		Vendor:   "rtcprobe",
		Homepage: "https://github.com/rtcprobe/rtcprobe",
		License:  "unspecified",
		MTime:    mtime,
		Overridables: nfpm.Overridables{
			Contents: append(programFiles(t, bin, mtime), files.Contents{
				{Source: filepath.Join(sys, "rtcprobe.service"), Destination: UnitPath, FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: mtime}},
				// A conffile: an upgrade keeps the admin's edits.
				{Source: filepath.Join(sys, "rtcprobe.yml"), Destination: ConfigPath, Type: files.TypeConfigNoReplace,
					FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: mtime}},
				{Destination: "/etc/rtcprobe", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: mtime}},
			}...),
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(sys, "postinstall.sh"),
				PreRemove:   filepath.Join(sys, "preremove.sh"),
				PostRemove:  filepath.Join(sys, "postremove.sh"),
			},
			// The service makes its own user (DynamicUser=yes), so the
			// package needs nothing from the system but systemd itself,
			// and the binary is static.
			Deb: nfpm.Deb{Compression: "xz"},
			RPM: nfpm.RPM{Compression: "xz", Group: "Applications/Internet"},
		},
	}
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", fmt.Errorf("%s: %w", format, err)
	}
	name := filepath.Join(dir, pkgr.ConventionalFileName(info))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("%s: %w", format, err)
	}
	return name, f.Close()
}

// programFiles are the package's entries of the programs built in bin.
func programFiles(t Target, bin string, mtime time.Time) files.Contents {
	var c files.Contents
	for _, p := range Programs {
		c = append(c, &files.Content{Source: filepath.Join(bin, t.Exe(p)), Destination: BinDir + "/" + p,
			FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: mtime}})
	}
	return c
}
