// Package release builds what is shipped: the binary for each platform,
// its archive (tar.gz, or zip for Windows), SHA256SUMS, and the .deb and
// .rpm packages with the systemd unit. Builds are reproducible: -trimpath,
// no build ID, and every archive entry carries one fixed time.
package release
