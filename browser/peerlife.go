package browser

import (
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
