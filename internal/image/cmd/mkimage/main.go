// Command image builds rtcprobe's container images without a container
// daemon (`make image`, `make image-browsers`): for each, an OCI image
// layout OUT/NAME (tagged with the version) and a docker-archive
// OUT/NAME.tar that `podman load` reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rtcprobe/rtcprobe/internal/image"
	"github.com/rtcprobe/rtcprobe/internal/release"
)

// Repository is the name the archives are tagged with (and the one
// examples/kubernetes runs).
const Repository = "ghcr.io/rtcprobe/"

func main() {
	version := flag.String("version", "dev", "the version stamped into the binary and the images' tag")
	revision := flag.String("revision", "", "the commit built, for the org.opencontainers.image.revision label")
	epoch := flag.Int64("mtime", 0, "the time of every layer entry and of the config, in Unix seconds (make image passes the last commit's)")
	out := flag.String("out", "dist/image", "the `DIR` the layouts and archives are written to")
	images := flag.String("images", "rtcprobe", "comma-separated: rtcprobe, rtcprobe-browsers")
	rootfs := flag.String("rootfs", "", "the `DIR` the browsers image's Debian root is made in, and kept (reused when it holds one already); default a temporary directory")
	ca := flag.String("ca", image.CACertificates, "the CA bundle the small image carries")
	flag.Parse()
	want := map[string]bool{}
	for _, n := range strings.Split(*images, ",") {
		if n != "rtcprobe" && n != "rtcprobe-browsers" {
			fmt.Fprintf(os.Stderr, "image: -images: unknown image %q (rtcprobe, rtcprobe-browsers)\n", n)
			os.Exit(2)
		}
		want[n] = true
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "image: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	o := image.Options{Version: *version, Revision: *revision, Created: time.Unix(*epoch, 0).UTC(), Arch: runtime.GOARCH}
	if err := run(context.Background(), o, *out, want, *rootfs, *ca); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o image.Options, out string, want map[string]bool, rootfs, ca string) error {
	root, err := release.ModuleRoot(".")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rtcprobe-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	if err := release.Build(ctx, root, release.Target{OS: "linux", Arch: o.Arch}, o.Version, bin); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if want["rtcprobe"] {
		img, err := image.Small(bin, ca, work, o)
		if err != nil {
			return err
		}
		if err := write(out, "rtcprobe", o.Version, img); err != nil {
			return err
		}
	}
	if want["rtcprobe-browsers"] {
		img, err := browsers(ctx, bin, work, rootfs, o)
		if err != nil {
			return err
		}
		if err := write(out, "rtcprobe-browsers", o.Version, img); err != nil {
			return err
		}
	}
	return nil
}

// browsers makes the Debian root (or reuses the one in rootfs) and the
// image of it.
func browsers(ctx context.Context, bin, work, rootfs string, o image.Options) (v1.Image, error) {
	src, err := image.FindAptSource("/etc/apt", "/usr/share/debootstrap/scripts")
	if err != nil {
		return nil, err
	}
	if rootfs == "" {
		rootfs = filepath.Join(work, "rootfs")
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/os-release")); err != nil {
		fmt.Printf("debootstrap %s from %s into %s (%s)\n", src.Suite, src.Mirror, rootfs, strings.Join(image.BrowserPackages, ", "))
		start := time.Now()
		if err := image.Debootstrap(ctx, rootfs, src, image.BrowserPackages, os.Stderr); err != nil {
			return nil, err
		}
		fmt.Printf("debootstrap took %s\n", time.Since(start).Round(time.Second))
	}
	start := time.Now()
	if err := image.Upgrade(ctx, rootfs, src, os.Stderr); err != nil {
		return nil, err
	}
	fmt.Printf("apt-get dist-upgrade from %d update suites took %s\n", len(src.Updates), time.Since(start).Round(time.Second))
	if err := image.AddUser(rootfs); err != nil {
		return nil, err
	}
	if err := image.Tidy(rootfs); err != nil {
		return nil, err
	}
	return image.Browsers(rootfs, bin, work, src, o)
}

// write puts img in its layout and its archive and says what it wrote.
func write(out, name, version string, img v1.Image) error {
	layout, archive := filepath.Join(out, name), filepath.Join(out, name+".tar")
	// A layout keeps every blob it was given: start afresh, so it holds
	// this image alone.
	if err := os.RemoveAll(layout); err != nil {
		return err
	}
	if err := image.WriteLayout(layout, version, img); err != nil {
		return err
	}
	if err := image.WriteArchive(archive, Repository+name+":"+version, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	compressed, unpacked, err := image.Sizes(img)
	if err != nil {
		return err
	}
	fmt.Printf("%s:%s %s\n  %.1f MiB compressed, %.1f MiB unpacked\n  oci:%s:%s\n  docker-archive:%s\n",
		name, version, digest, float64(compressed)/(1<<20), float64(unpacked)/(1<<20), layout, version, archive)
	return nil
}
