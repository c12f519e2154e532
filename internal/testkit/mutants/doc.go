// Package mutants proves that the truth tests bite: it holds a curated
// list of deliberately wrong variants of the code that computes what a
// user sees (loss, RTT, jitter, MOS, throughput, …), and a test that
// builds each one in turn — through `go test -overlay`, never touching
// the tree — and requires that the tests named for it fail.
//
// `make mutants` runs it (the test is behind the build tag "mutants": it
// runs go test itself, one mutant at a time); every `go test ./...`
// checks that each mutant still applies to the code as it is.
package mutants
