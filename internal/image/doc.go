// Package image builds rtcprobe's container images without a container
// daemon, as OCI image layouts and docker-archive tarballs:
//
//   - rtcprobe: the static binary, CA certificates and a non-root user,
//     for `rtcprobe serve` and the network checks;
//   - rtcprobe-browsers: a Debian root file system made with debootstrap,
//     with Chromium, Firefox ESR and fonts, for the browser and interop
//     checks in CI.
//
// Like the release files, the images carry one fixed time (the last
// commit's): every layer entry, the config's created time and its
// history, so the same inputs give the same digest.
package image
