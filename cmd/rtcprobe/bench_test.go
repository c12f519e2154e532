package main

import (
	"context"
	"io"
	"testing"
)

// BenchmarkDefaultRunSTUN is the default run's time to verdict for the
// STUN part: embedded server start, stun.udp + stun.tcp (5 requests each),
// report rendered, server stopped.
func BenchmarkDefaultRunSTUN(b *testing.B) {
	for b.Loop() {
		if code := run(context.Background(), []string{"--checks", "stun"}, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("exit %d", code)
		}
	}
}
