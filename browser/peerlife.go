package browser

import (
	"context"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// peerLife is the life of pion's end of a call with a browser: the
// connection an answer builds, the first error, and the goroutines that
// must be gone once the call is closed.
type peerLife struct {
	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	closed bool          // no answer may start a connection any more
	done   chan struct{} // closed by close: an answer in progress gives up
	err    error
	// answering counts answers in progress; readers the RTP/RTCP loops.
	answering sync.WaitGroup
	readers   sync.WaitGroup
}

func newPeerLife() peerLife { return peerLife{done: make(chan struct{})} }

// fail keeps the call's first error and returns err.
func (p *peerLife) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	return err
}

// failure is the call's first error.
func (p *peerLife) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// close ends the call and waits for every reader to stop. A running
// answer is waited for before the connection closes: closing under a
// half-built one can leave its ICE agent running.
func (p *peerLife) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	p.answering.Wait()
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	p.readers.Wait()
}

// answerGathered answers the offer pc holds once pion's candidates are
// gathered (signaling is not trickled), giving up when ctx ends or the
// call is closed.
func (p *peerLife) answerGathered(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", p.fail(fmt.Errorf("pion: answer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", p.fail(fmt.Errorf("pion: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", p.fail(fmt.Errorf("pion: gathering candidates: %w", ctx.Err()))
	case <-p.done:
		return "", errCallOver
	}
	return pc.LocalDescription().SDP, nil
}

// onConnected runs each of plays as a reader once pc first connects,
// unless the call was closed by then: media starts when it can arrive.
func (p *peerLife) onConnected(pc *webrtc.PeerConnection, plays ...func()) {
	var once sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st != webrtc.PeerConnectionStateConnected {
			return
		}
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.closed {
				return
			}
			for _, play := range plays {
				p.readers.Add(1)
				go play()
			}
		})
	})
}
