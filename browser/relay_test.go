package browser

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The relay passes one offer and one answer; either side gives up when
// the call is over or its deadline passes.
func TestRelay(t *testing.T) {
	r := newRelay()
	got := make(chan string, 1)
	go func() {
		o, err := r.takeOffer(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- o
		if err := r.giveAnswer("answer"); err != nil {
			t.Error(err)
		}
	}()
	a, err := r.exchange(context.Background(), "offer")
	if err != nil || a != "answer" || <-got != "offer" {
		t.Fatalf("exchange: %q %v", a, err)
	}
	// One offer and one answer per call.
	if _, err := r.exchange(context.Background(), "again"); err == nil {
		t.Error("a second offer was taken")
	}
	if err := r.giveAnswer("again"); err == nil {
		t.Error("a second answer was taken")
	}

	late := newRelay()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := late.takeOffer(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no offer: %v", err)
	}
	late.close()
	late.close() // twice is fine
	if _, err := late.exchange(context.Background(), "offer"); !errors.Is(err, errCallOver) {
		t.Errorf("after close: %v", err)
	}
}
