package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// PairConfig describes the two in-process peers of an ICE, media or data
// channel probe: which ICE servers they use and which network they live on.
type PairConfig struct {
	// ICEServers are given to both peers (credentials included).
	ICEServers []webrtc.ICEServer
	// Relay restricts both peers to relay candidates
	// (ICETransportPolicyRelay), so connecting proves TURN works.
	Relay bool
	// Loopback keeps every candidate on loopback: used when the servers
	// are on loopback, so no packet leaves the machine.
	Loopback bool
	// Nets puts the offerer ([0]) and the answerer ([1]) on virtual
	// networks (pion vnet); nil means the host's network.
	Nets [2]transport.Net
	// ReportInterval is how often RTCP sender/receiver reports go out
	// (default 250ms, so a few seconds of media yield enough RTTs for a
	// median that one late wake-up cannot move).
	ReportInterval time.Duration
	// Stats, when set, receives the peers' full stats (every second
	// during media, once when connected otherwise), labelled StatsLabel.
	Stats      *StatsLog
	StatsLabel string
}

// ErrNoRelay: a relay-only peer gathered no relay candidate (the TURN
// server gave no allocation).
var ErrNoRelay = errors.New("no relay candidate")

// ConnectError says which stage of setting up (or keeping) a peer
// connection failed.
type ConnectError struct {
	Stage Stage
	Err   error
	After time.Duration
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("%s failed after %s: %v", e.Stage, roundDur(e.After), e.Err)
}
func (e *ConnectError) Unwrap() error { return e.Err }

// Timings of one connection set-up, in order.
type Timings struct {
	Gathering time.Duration // both peers' candidate gathering (non-trickle)
	ICE       time.Duration // answer applied → ICE connected (offerer)
	DTLS      time.Duration // ICE connected → both peers connected (DTLS done)
	Total     time.Duration
}

// Pair is two connected PeerConnections in this process: the offerer sends,
// the answerer receives.
type Pair struct {
	Offer, Answer *webrtc.PeerConnection
	Timings       Timings
	// rtp are the RTP stream statistics of each peer (RTCP-derived
	// RTT and loss included), which GetStats does not expose for senders.
	rtp [2]*statsHolder
	cfg PairConfig

	mu      sync.Mutex
	states  [2]webrtc.PeerConnectionState
	changed chan struct{} // closed and replaced on every state change
}

type statsHolder struct {
	mu     sync.Mutex
	getter stats.Getter
}

func (h *statsHolder) set(g stats.Getter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.getter = g
}

func (h *statsHolder) Get(ssrc uint32) *stats.Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.getter == nil {
		return nil
	}
	return h.getter.Get(ssrc)
}

// NewPair creates the two peers, not yet connected: add tracks and data
// channels to Offer, then call Connect.
func NewPair(cfg PairConfig) (*Pair, error) {
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 250 * time.Millisecond
	}
	p := &Pair{changed: make(chan struct{}), cfg: cfg}
	pcs := [2]*webrtc.PeerConnection{}
	for i := range pcs {
		p.rtp[i] = &statsHolder{}
		api, err := NewAPI(APIConfig{Relay: cfg.Relay, Loopback: cfg.Loopback, Net: cfg.Nets[i],
			ReportInterval: cfg.ReportInterval, OnStats: p.rtp[i].set})
		if err != nil {
			p.Close()
			return nil, err
		}
		policy := webrtc.ICETransportPolicyAll
		if cfg.Relay {
			policy = webrtc.ICETransportPolicyRelay
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: cfg.ICEServers, ICETransportPolicy: policy})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%w: peer connection: %v", ErrUnsupported, err)
		}
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { p.setState(i, s) })
		pcs[i] = pc
		if i == 0 {
			p.Offer = pc
		} else {
			p.Answer = pc
		}
	}
	return p, nil
}

func (p *Pair) setState(side int, s webrtc.PeerConnectionState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.states[side] = s
	close(p.changed)
	p.changed = make(chan struct{})
}

// state returns both peers' states and a channel closed on the next change.
func (p *Pair) state() ([2]webrtc.PeerConnectionState, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.states, p.changed
}

// Connect negotiates (offer/answer with complete gathering, as a
// non-trickling signalling server would) and waits until both peers are
// connected. Its error is a *ConnectError naming the stage that failed.
func (p *Pair) Connect(ctx context.Context) error {
	start := time.Now()
	fail := func(stage Stage, err error) error {
		return &ConnectError{Stage: stage, Err: err, After: time.Since(start)}
	}
	iceUp := make(chan time.Time, 1)
	p.Offer.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			select {
			case iceUp <- time.Now():
			default:
			}
		}
	})

	gather := func(pc *webrtc.PeerConnection, sdp webrtc.SessionDescription) error {
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(sdp); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			// Gathering waits for every STUN/TURN server: one that never
			// answers holds it until the deadline.
			if pc.GetConfiguration().ICETransportPolicy == webrtc.ICETransportPolicyRelay {
				return fmt.Errorf("no relay candidate before the deadline: the TURN server did not answer the allocation (%w)", context.Cause(ctx))
			}
			return fmt.Errorf("candidate gathering did not finish before the deadline: a STUN or TURN server did not answer (%w)", context.Cause(ctx))
		}
	}
	offer, err := p.Offer.CreateOffer(nil)
	if err != nil {
		return fail(StageGathering, err)
	}
	if err := gather(p.Offer, offer); err != nil {
		return fail(StageGathering, err)
	}
	if err := p.Answer.SetRemoteDescription(*p.Offer.LocalDescription()); err != nil {
		return fail(StageGathering, err)
	}
	answer, err := p.Answer.CreateAnswer(nil)
	if err != nil {
		return fail(StageGathering, err)
	}
	if err := gather(p.Answer, answer); err != nil {
		return fail(StageGathering, err)
	}
	p.Timings.Gathering = time.Since(start)
	for i, pc := range []*webrtc.PeerConnection{p.Offer, p.Answer} {
		if countCandidates(pc.LocalDescription().SDP) == 0 {
			if pc.GetConfiguration().ICETransportPolicy == webrtc.ICETransportPolicyRelay {
				return fail(StageGathering, fmt.Errorf("%w gathered by the %s", ErrNoRelay, sideName(i)))
			}
			return fail(StageGathering, fmt.Errorf("no candidate gathered by the %s", sideName(i)))
		}
	}
	negotiated := time.Now()
	if err := p.Offer.SetRemoteDescription(*p.Answer.LocalDescription()); err != nil {
		return fail(StageICE, err)
	}

	var iceAt time.Time
	for {
		states, changed := p.state()
		if iceAt.IsZero() {
			select {
			case iceAt = <-iceUp:
				p.Timings.ICE = iceAt.Sub(negotiated)
			default:
			}
		}
		switch {
		case states[0] == webrtc.PeerConnectionStateConnected && states[1] == webrtc.PeerConnectionStateConnected:
			now := time.Now()
			if iceAt.IsZero() {
				iceAt = now
				p.Timings.ICE = now.Sub(negotiated)
			}
			p.Timings.DTLS = now.Sub(iceAt)
			p.Timings.Total = now.Sub(start)
			return nil
		case states[0] == webrtc.PeerConnectionStateFailed || states[1] == webrtc.PeerConnectionStateFailed:
			if iceAt.IsZero() {
				return fail(StageICE, errors.New("no candidate pair worked (ICE failed)"))
			}
			return fail(StageDTLS, errors.New("ICE connected but the DTLS handshake failed"))
		}
		select {
		case <-changed:
		case t := <-iceUp:
			iceAt = t
			p.Timings.ICE = t.Sub(negotiated)
		case <-ctx.Done():
			if iceAt.IsZero() {
				return fail(StageICE, fmt.Errorf("no candidate pair worked before the deadline: %w", context.Cause(ctx)))
			}
			return fail(StageDTLS, fmt.Errorf("ICE connected but DTLS did not finish before the deadline: %w", context.Cause(ctx)))
		}
	}
}

// connectRecorded connects the pair and records how into m; a failure
// becomes m.Err too.
func (p *Pair) connectRecorded(ctx context.Context, m *Measurement) error {
	err := p.Connect(ctx)
	p.RecordConnection(m, err == nil)
	m.Err = err
	return err
}

// Broken returns a channel closed once either peer's connection fails,
// disconnects or closes after having connected: a call dropped mid-way.
func (p *Pair) Broken() <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			states, changed := p.state()
			for _, s := range states {
				switch s {
				case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateClosed:
					return
				}
			}
			<-changed
		}
	}()
	return out
}

func sideName(i int) string { return [2]string{"offerer", "answerer"}[i] }

func countCandidates(sdp string) int { return strings.Count(sdp, "a=candidate:") }

// Close closes both peers and waits for their goroutines to end.
func (p *Pair) Close() {
	for _, pc := range []*webrtc.PeerConnection{p.Offer, p.Answer} {
		if pc != nil {
			_ = pc.GracefulClose()
		}
	}
}

// RecordConnection adds the set-up timings, the candidate inventory of both
// peers, the selected pair and the ICE RTT to m.
// Timings are left out when the connection did not come up.
func (p *Pair) RecordConnection(m *Measurement, connected bool) {
	if t := p.Timings; connected {
		m.SetMetric("gathering_ms", ms(t.Gathering))
		m.SetMetric("ice_ms", ms(t.ICE))
		m.SetMetric("dtls_ms", ms(t.DTLS))
		m.SetMetric("connect_ms", ms(t.Total))
	}
	// The selected pair first: it is what a one-line summary shows.
	if pair := SelectedPair(p.Offer); pair != nil {
		m.AddEvidence("selected_pair", fmt.Sprintf("%s %s:%d ↔ %s %s:%d over %s",
			pair.Local.Typ, pair.Local.Address, pair.Local.Port, pair.Remote.Typ, pair.Remote.Address, pair.Remote.Port, pair.Local.Protocol))
		relay := 0.0
		if pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay {
			relay = 1
		}
		m.SetMetric("selected_relay", relay)
	}
	counts := map[string]int{}
	for i, pc := range []*webrtc.PeerConnection{p.Offer, p.Answer} {
		var list []string
		for _, s := range pc.GetStats() {
			c, ok := s.(webrtc.ICECandidateStats)
			if !ok || c.Type != webrtc.StatsTypeLocalCandidate {
				continue
			}
			counts[c.CandidateType.String()]++
			list = append(list, fmt.Sprintf("%s %s/%s", c.CandidateType, net.JoinHostPort(c.IP, fmt.Sprint(c.Port)), c.Protocol))
		}
		sort.Strings(list)
		m.AddEvidence(sideName(i)+"_candidates", strings.Join(list, ", "))
	}
	for _, typ := range []string{"host", "srflx", "prflx", "relay"} {
		m.SetMetric("candidates_"+typ, float64(counts[typ]))
	}
	if rtt, ok := p.ICERTT(); ok {
		m.SetMetric("ice_rtt_ms", ms(rtt))
	}
}

// SelectedPair is pc's selected candidate pair, or nil before there is one.
// Not before ICE has started: pion's GetSelectedCandidatePair reads the
// transport's gatherer without the lock its start writes it under, so a
// call racing SetRemoteDescription (a call given up on early) is a data
// race. The connection state is atomic and leaves "new" only after that
// write: reading it first orders the two.
func SelectedPair(pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	switch pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateUnknown, webrtc.ICEConnectionStateNew:
		return nil
	}
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil
	}
	return pair
}

// ICERTT is the latest STUN round trip (connectivity check or consent
// keepalive) on the offerer's nominated pair. The mean over all checks is
// not used: it includes retransmitted checks from before the pair worked.
func (p *Pair) ICERTT() (time.Duration, bool) {
	for _, s := range p.Offer.GetStats() {
		c, ok := s.(webrtc.ICECandidatePairStats)
		if ok && c.Nominated && c.CurrentRoundTripTime > 0 {
			return time.Duration(c.CurrentRoundTripTime * float64(time.Second)), true
		}
	}
	return 0, false
}
