package browser

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// relay passes one offer and its answer between two ends of a call, each
// talking to its own page server: the offering page posts its offer to
// /signal/{id} and waits for the answer (exchange); the answering page
// fetches the offer from /relay/{id}/offer and posts its answer to
// /relay/{id}/answer. Signaling goes through rtcprobe, so the two browsers
// need not reach each other's page server.
type relay struct {
	offers  chan string
	answers chan string
	done    chan struct{}
	once    sync.Once
	offered atomic.Bool // an offer was handed over: the call takes no other
	replied atomic.Bool // likewise for the answer
}

var errCallOver = errors.New("the call is over")

func newRelay() *relay {
	return &relay{offers: make(chan string, 1), answers: make(chan string, 1), done: make(chan struct{})}
}

// exchange hands the offer over and waits for the answer.
func (r *relay) exchange(ctx context.Context, offer string) (string, error) {
	if r.offered.Swap(true) {
		return "", errors.New("the call has an offer already")
	}
	r.offers <- offer // buffered for the one offer
	select {
	case a := <-r.answers:
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-r.done:
		return "", errCallOver
	}
}

// takeOffer waits for the offer.
func (r *relay) takeOffer(ctx context.Context) (string, error) {
	select {
	case o := <-r.offers:
		return o, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-r.done:
		return "", errCallOver
	}
}

// giveAnswer hands the answer over.
func (r *relay) giveAnswer(answer string) error {
	if r.replied.Swap(true) {
		return errors.New("the call has an answer already")
	}
	r.answers <- answer // buffered for the one answer
	return nil
}

// close ends the exchange: whoever still waits gives up. It may be called
// more than once.
func (r *relay) close() { r.once.Do(func() { close(r.done) }) }
