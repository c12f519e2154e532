// Package mutants proves that the truth tests bite: it holds a curated
// list of deliberately wrong variants of the code that computes what a
// user sees (loss, RTT, jitter, MOS, throughput, …), and a test that
// builds each one in turn — through an overlay in GOFLAGS, never touching
// the tree, so that the rtcprobe binary a TestMain builds is mutated too —
// and requires that the tests named for it fail, twice.
//
// `make mutants` runs it (the test is behind the build tag "mutants": it
// runs go test itself, one mutant at a time); every `go test ./...`
// checks that each mutant still applies to the code as it is.
package mutants
