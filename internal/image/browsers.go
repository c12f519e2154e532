package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Browsers builds the rtcprobe-browsers image from a Debian root file
// system made by Debootstrap (AddUser and Tidy must have run on it) and
// the static programs in the directory bin, writing its layers in work.
// Two layers: the root file system, then the programs, the same layer as
// in the small image.
func Browsers(root, bin, work string, src AptSource, o Options) (v1.Image, error) {
	base := filepath.Join(work, "rtcprobe-browsers-rootfs.tar.gz")
	if err := writeTreeLayer(base, root, o.Created); err != nil {
		return nil, err
	}
	binLayer, err := binaryLayer(bin, work, o)
	if err != nil {
		return nil, err
	}
	cfg := config(o, "rtcprobe-browsers", "rtcprobe with Chromium and Firefox ESR: the browser and interop checks",
		[]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, []string{"9781/tcp"})
	cfg.Config.Labels["org.opencontainers.image.base.name"] = "debian:" + src.Suite
	return assemble(cfg, []layerFile{
		{base, fmt.Sprintf("debootstrap --variant=minbase --include=%s %s %s; user %s (%d)",
			strings.Join(BrowserPackages, ","), src.Suite, src.Mirror, User, UID)},
		binLayer,
	})
}

// AddUser adds the images' user and group to the root file system at
// root and makes its home directory.
func AddUser(root string) error {
	for _, f := range []struct{ name, line string }{{"etc/passwd", passwdLine()}, {"etc/group", groupLine()}} {
		path := filepath.Join(root, f.name)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "\n"+User+":") || strings.HasPrefix(string(b), User+":") {
			continue
		}
		if err := os.WriteFile(path, append(b, f.line...), 0o644); err != nil {
			return err
		}
	}
	home := filepath.Join(root, Home)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	return os.Chown(home, UID, UID)
}

// Tidy removes from the root file system what the build leaves behind
// and an image should not carry: downloaded packages, apt's lists and
// caches, logs, debootstrap's own directory, and a machine ID (a
// container gets its own).
func Tidy(root string) error {
	var errs []error
	for _, pattern := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin",
		"var/lib/apt/lists/*_*", "var/log/*.log", "var/log/apt/*", "var/cache/debconf/*-old",
		"var/lib/dpkg/*-old", "var/cache/ldconfig/aux-cache", "debootstrap"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			errs = append(errs, os.RemoveAll(m))
		}
	}
	for _, id := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		if err := os.Truncate(filepath.Join(root, id), 0); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
