package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// httpPeer is one pion peer talking to a WHIP/WHEP server: the peer, its
// RTP statistics and the session on the server.
type httpPeer struct {
	pc    *webrtc.PeerConnection
	rtp   *statsHolder
	sess  *httpSession
	start time.Time
	// connected is closed once the peer connection is connected; failed
	// once it fails, disconnects or closes.
	connected, failed chan struct{}
	once              [2]sync.Once
	// Timings.
	postTook, connectTook time.Duration
	trickle               error // nil: trickled; ErrNoTrickle or another error: not
	// answered is what the answer made of each offered media section.
	answered []answeredSection
	// onAnswer, when set, sees the answer's sections before the answer is
	// applied (a publisher picks its clips there); its error ends the
	// negotiation.
	onAnswer func([]answeredSection) error
	// allSections: every offered section must get a codec (a publisher
	// sends both kinds); otherwise one is enough (a viewer plays what the
	// server has).
	allSections bool
}

// loopbackOnly: a server on loopback is reached with loopback candidates
// only, so no packet of the call leaves the machine.
func loopbackOnly(ep Endpoint) bool { return ep.URL != nil && isLoopbackHost(ep.URL.Hostname()) }

func newHTTPPeer(proto string, ep Endpoint, cfg HTTPConfig) (*httpPeer, error) {
	p := &httpPeer{rtp: &statsHolder{}, connected: make(chan struct{}), failed: make(chan struct{})}
	api, err := NewAPI(APIConfig{Loopback: loopbackOnly(ep), ReportInterval: 250 * time.Millisecond, OnStats: p.rtp.set, Codecs: sessionCodecs})
	if err != nil {
		return nil, err
	}
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, fmt.Errorf("%w: peer connection: %v", ErrUnsupported, err)
	}
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.once[0].Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateClosed:
			p.once[1].Do(func() { close(p.failed) })
		}
	})
	p.sess = newHTTPSession(proto, ep, cfg)
	return p, nil
}

// close ends the session on the server (DELETE) and the peer; the
// DELETE's error is returned.
func (p *httpPeer) close(ctx context.Context) error {
	var err error
	if p.sess.location != nil {
		// A DELETE gets its own few seconds even when the check's deadline
		// has passed: a session left on the server is the server's load.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		err = p.sess.delete(dctx)
		cancel()
		p.sess.location = nil
	}
	_ = p.pc.GracefulClose()
	p.sess.close()
	return err
}

// postWait bounds the wait for the server's answer to the POST.
const postWait = 10 * time.Second

// negotiate runs the WHIP/WHEP offer/answer: the offer is POSTed before
// gathering so the ICE servers of the server's Link headers can be used
// for the call; the candidates follow in one trickle PATCH once gathered.
// It returns once the answer is applied; connect waits for the call.
func (p *httpPeer) negotiate(ctx context.Context) error {
	p.start = time.Now()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return &ConnectError{Stage: StageGathering, Err: err}
	}
	pctx, cancel := withDeadline(ctx, postWait)
	answer, err := p.sess.post(pctx, offer.SDP)
	cancel()
	p.postTook = time.Since(p.start)
	if err != nil {
		return err
	}
	if err := p.readCodecs(ctx, answer); err != nil {
		return err
	}
	if len(p.sess.servers) > 0 {
		if err := p.pc.SetConfiguration(webrtc.Configuration{ICEServers: p.sess.servers}); err != nil {
			return &ConnectError{Stage: StageGathering, Err: fmt.Errorf("ICE servers from the Link headers: %w", err), After: time.Since(p.start)}
		}
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return &ConnectError{Stage: StageGathering, Err: err, After: time.Since(p.start)}
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return &HTTPSessionError{Proto: p.sess.proto, Stage: StageAnswer, URL: p.sess.ep.Name(), Code: 201, Status: "201 Created",
			Err: fmt.Errorf("%w: %v", ErrAnswerNotApplied, fromNetwork(err.Error()))}
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return &ConnectError{Stage: StageGathering, Err: fmt.Errorf("candidate gathering did not finish before the deadline: %w", context.Cause(ctx)), After: time.Since(p.start)}
	}
	tctx, cancel := withDeadline(ctx, postWait)
	p.trickle = p.sess.patch(tctx, sdpFrag(p.pc.LocalDescription().SDP))
	cancel()
	if p.trickle != nil && !errors.Is(p.trickle, ErrNoTrickle) {
		// The server did not take the candidates, but it learns this
		// client's address from the connectivity checks to the candidates
		// of its answer, as it does without trickle: the call goes on, and
		// the PATCH's outcome is a step of the record.
		if o, ok := ObservationOf(p.trickle); ok {
			Observe(ctx, o)
		}
	}
	return nil
}

// readCodecs reads which offered codec the answer picked for each media
// section and records it as the POST's observation; a section left
// without one is a codec mismatch. An answer that does not parse is left
// to SetRemoteDescription to refuse.
func (p *httpPeer) readCodecs(ctx context.Context, answer string) error {
	secs, err := readAnswer(answer)
	if err != nil {
		return nil
	}
	p.answered = secs
	var first *CodecMismatchError
	usable := 0
	for _, s := range secs {
		switch {
		case s.Codec != nil:
			usable++
		case first == nil:
			first = s.mismatch(p.sess.proto, p.sess.ep.Name(), p.postTook)
		}
	}
	if first != nil && (p.allSections || usable == 0) {
		return first
	}
	Observe(ctx, Observation{Step: p.sess.proto + " " + string(StagePost), To: p.sess.ep.Name(), Outcome: OutcomeAnswered, AfterMS: ms(p.postTook),
		Code: 201, Reason: "201 Created", Note: "negotiated: " + negotiatedCodecs(secs)})
	if p.onAnswer != nil {
		return p.onAnswer(secs)
	}
	return nil
}

// ErrAnswerNotApplied: pion refused to apply the server's SDP answer.
var ErrAnswerNotApplied = errors.New("the answer SDP does not apply")

// establish negotiates and waits for the connection.
func (p *httpPeer) establish(ctx context.Context) error {
	if err := p.negotiate(ctx); err != nil {
		return err
	}
	return p.connect(ctx)
}

// connect waits until the peer is connected.
func (p *httpPeer) connect(ctx context.Context) error {
	select {
	case <-p.connected:
		p.connectTook = time.Since(p.start)
		return nil
	case <-p.failed:
		return &ConnectError{Stage: StageICE, Err: errors.New("the connection to the media server failed (ICE or DTLS)" + p.trickleNote()), After: time.Since(p.start)}
	case <-ctx.Done():
		return &ConnectError{Stage: StageICE, Err: fmt.Errorf("not connected to the media server before the deadline%s: %w", p.trickleNote(), context.Cause(ctx)), After: time.Since(p.start)}
	}
}

// trickleFailed: the trickle PATCH failed otherwise than by saying the
// server has no trickle ICE.
func (p *httpPeer) trickleFailed() bool {
	return p.trickle != nil && !errors.Is(p.trickle, ErrNoTrickle)
}

// trickleNote adds the failed PATCH to a connection failure: the server
// then had only the connectivity checks to learn this client's address.
func (p *httpPeer) trickleNote() string {
	if !p.trickleFailed() {
		return ""
	}
	return " (the server did not take the trickled candidates either)"
}

// record adds the session's protocol facts to m.
func (p *httpPeer) record(m *Measurement, prefix string) {
	m.SetMetric(prefix+"post_ms", ms(p.postTook))
	if p.connectTook > 0 {
		m.SetMetric(prefix+"connect_ms", ms(p.connectTook))
	}
	m.SetMetric(prefix+"link_ice_servers", float64(len(p.sess.servers)))
	if pair := SelectedPair(p.pc); pair != nil {
		m.AddEvidence(prefix+"selected_pair", fmt.Sprintf("%s %s ↔ %s %s over %s", pair.Local.Typ,
			net.JoinHostPort(pair.Local.Address, fmt.Sprint(pair.Local.Port)), pair.Remote.Typ,
			fromNetwork(net.JoinHostPort(pair.Remote.Address, fmt.Sprint(pair.Remote.Port))), pair.Local.Protocol))
	}
	if prefix != "" {
		return // the evidence of the first session is enough
	}
	if p.sess.location != nil {
		m.AddEvidence("location", redactURL(p.sess.location))
	}
	if len(p.answered) > 0 {
		m.AddEvidence("codecs", negotiatedCodecs(p.answered))
	}
	if p.sess.etag != "" {
		m.AddEvidence("etag", fromNetwork(truncate(p.sess.etag, 80)))
	}
	if len(p.sess.linkNames) > 0 {
		m.AddEvidence("link_ice_servers", strings.Join(p.sess.linkNames, ", "))
	}
	switch {
	case p.trickle == nil:
		m.SetMetric("trickle", 1)
	case errors.Is(p.trickle, ErrNoTrickle):
		m.SetMetric("trickle", 0)
		m.AddEvidence("trickle", "the server does not support trickle ICE (405/501 to PATCH): it learns the client's address from its connectivity checks")
	default:
		m.SetMetric("trickle", 0)
		m.SetMetric("trickle_failed", 1)
		m.AddEvidence("trickle", p.trickle.Error())
	}
	if ld := p.pc.LocalDescription(); ld != nil {
		// Relay candidates show that Link's TURN servers were used.
		m.SetMetric("candidates_relay", float64(strings.Count(ld.SDP, " typ relay")))
	}
}

// sdpFrag is the trickle ICE fragment (RFC 8840) of a local description
// with complete gathering: ICE credentials, the first media section's
// mid and its candidates, and end-of-candidates. With BUNDLE, the first
// section's candidates are the whole transport's.
func sdpFrag(sdp string) string {
	var (
		b           strings.Builder
		ufrag, pwd  string
		media, mid  string
		cands       []string
		inFirst     bool
		seenSection bool
	)
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			if seenSection {
				inFirst = false
				continue
			}
			seenSection, inFirst, media = true, true, line
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = line
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = line
		case inFirst && strings.HasPrefix(line, "a=mid:"):
			mid = line
		case inFirst && strings.HasPrefix(line, "a=candidate:"):
			cands = append(cands, line)
		}
	}
	for _, l := range []string{ufrag, pwd, media, mid} {
		if l != "" {
			b.WriteString(l + "\r\n")
		}
	}
	for _, c := range cands {
		b.WriteString(c + "\r\n")
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// inbound is what one received stream's statistics say.
func (p *httpPeer) inbound(ssrc uint32) stats.InboundRTPStreamStats {
	if s := p.rtp.Get(ssrc); s != nil {
		return s.InboundRTPStreamStats
	}
	return stats.InboundRTPStreamStats{}
}

// outbound is the sender's and the server's (RTCP) view of a sent stream.
func (p *httpPeer) outbound(ssrc uint32) (stats.OutboundRTPStreamStats, stats.RemoteInboundRTPStreamStats) {
	if s := p.rtp.Get(ssrc); s != nil {
		return s.OutboundRTPStreamStats, s.RemoteInboundRTPStreamStats
	}
	return stats.OutboundRTPStreamStats{}, stats.RemoteInboundRTPStreamStats{}
}
