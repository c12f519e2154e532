package probes

import (
	"testing"
	"time"
)

// A relay that delivers a packet twice must not hide a lost one: 10 sent,
// packet 3 lost and packet 5 delivered twice is 9 received, 10 % loss.
func TestLoadRxCountsDuplicatesOnce(t *testing.T) {
	var r loadRx
	t0 := time.Unix(1000, 0)
	for seq := range 10 {
		if seq == 3 {
			continue
		}
		sent := t0.Add(time.Duration(seq) * 20 * time.Millisecond)
		if !r.add(seq, sent, sent.Add(5*time.Millisecond), 10) {
			t.Fatalf("packet %d refused", seq)
		}
		if seq == 5 && r.add(seq, sent, sent.Add(9*time.Millisecond), 10) {
			t.Fatal("a duplicate was counted")
		}
	}
	if r.add(10, t0, t0, 10) || r.add(-1, t0, t0, 10) {
		t.Fatal("a sequence number never sent was counted")
	}
	if r.received != 9 {
		t.Fatalf("received %d, want 9", r.received)
	}
	if got := LossPct(10, r.received); got != 10 {
		t.Fatalf("loss %v %%, want 10", got)
	}
	// Every counted packet had the same transit: no jitter, the
	// duplicate's 4 ms later arrival included.
	if r.jitter != 0 {
		t.Fatalf("jitter %v s, want 0", r.jitter)
	}
}
