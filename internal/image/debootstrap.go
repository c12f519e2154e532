package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BrowserPackages are what the browsers image installs on Debian's
// minimal base: the two browsers rtcprobe drives, fonts for the pages
// they render, and the CA bundle. dbus-x11 is there because debootstrap
// does not resolve a dependency on a virtual package (dconf-service, which
// the browsers' GTK pulls in, needs a dbus-session-bus).
var BrowserPackages = []string{"ca-certificates", "chromium", "dbus-x11", "firefox-esr", "fonts-liberation"}

// Debootstrap makes a Debian root file system of src's suite in root
// (which must not exist yet, or be empty) with packages installed, from
// src's mirror, writing debootstrap's log to log. It needs root: it
// unpacks files owned by other users and runs the packages' scripts
// in a chroot.
func Debootstrap(ctx context.Context, root string, src AptSource, packages []string, log io.Writer) error {
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/debootstrap"); serr != nil {
			return fmt.Errorf("debootstrap not found (Debian: apt-get install debootstrap): %w", err)
		}
		bin = "/usr/sbin/debootstrap"
	}
	cmd := exec.CommandContext(ctx, bin, "--variant=minbase", "--components=main",
		"--include="+strings.Join(packages, ","), src.Suite, root, src.Mirror)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap %s from %s into %s: %w (its log: %s)", src.Suite, src.Mirror, root,
			err, filepath.Join(root, "debootstrap/debootstrap.log"))
	}
	return nil
}

// Upgrade points the root's apt at src's suite and its updates (the
// security suite carries the browsers' current releases) and upgrades
// every package from them, in a chroot, without the new dependencies'
// recommendations (video drivers, none of which a headless browser uses).
func Upgrade(ctx context.Context, root string, src AptSource, log io.Writer) error {
	var b strings.Builder
	for _, r := range append([]AptRepo{{src.Mirror, src.Suite}}, src.Updates...) {
		fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n", r.URI, r.Suite)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d/debian.sources"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(root, "etc/apt/sources.list")); err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, args := range [][]string{{"update"}, {"-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold", "dist-upgrade"}} {
		cmd := exec.CommandContext(ctx, "chroot", append([]string{root, "apt-get", "-q"}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s in %s: %w", strings.Join(args, " "), root, err)
		}
	}
	return nil
}
