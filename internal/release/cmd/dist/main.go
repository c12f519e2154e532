// Command dist builds rtcprobe's release files (`make dist`): an archive
// per platform, the .deb and .rpm packages, and SHA256SUMS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/release"
)

func main() {
	version := flag.String("version", "dev", "the version stamped into the binary and named in the file names")
	out := flag.String("out", "dist", "the `DIR` the files are written to")
	epoch := flag.Int64("mtime", 0, "the time of every archive entry, in Unix seconds (make dist passes the last commit's)")
	only := flag.String("targets", "", "comma-separated OS/ARCH list (default: every release platform)")
	pkgs := flag.Bool("packages", true, "also build .deb and .rpm for the linux targets")
	flag.Parse()
	targets := release.Targets
	if *only != "" {
		targets = nil
		for _, s := range strings.Split(*only, ",") {
			goos, arch, ok := strings.Cut(s, "/")
			if !ok {
				fmt.Fprintf(os.Stderr, "dist: -targets: want OS/ARCH, got %q\n", s)
				os.Exit(2)
			}
			targets = append(targets, release.Target{OS: goos, Arch: arch})
		}
	}
	root, err := release.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	files, err := release.Dist(context.Background(), release.Options{Root: root, Out: *out, Version: *version,
		MTime: time.Unix(*epoch, 0).UTC(), Targets: targets, Packages: *pkgs})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dist:", err)
			os.Exit(1)
		}
		fmt.Printf("%9.1f MiB  %s\n", float64(st.Size())/(1<<20), f)
	}
}
