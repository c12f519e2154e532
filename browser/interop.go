package browser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// InteropConfig adjusts a browser ↔ pion call.
type InteropConfig struct {
	// Relay, when set, makes both sides relay-only through this TURN
	// server and transport.
	Relay *probes.Target
	// Duration is how long media flows after the data channel echo
	// (default 1.5 s).
	Duration time.Duration
	// Messages is the number of data channel messages echoed (default 10).
	Messages int
}

// Interop makes a real call between the browser and a pion/webrtc peer in
// this process, signaled over the page server: Chrome sends its camera and
// mic and opens a data channel; the pion peer counts the packets and
// frames it receives, echoes every data channel message and sends media of
// its own (rtcprobe's VP8 and Opus clips); Chrome's getStats shows what it
// decoded.
func Interop(ctx context.Context, b *Browser, cfg InteropConfig) (m probes.Measurement) {
	if cfg.Duration <= 0 {
		cfg.Duration = 1500 * time.Millisecond
	}
	if cfg.Messages <= 0 {
		cfg.Messages = 10
	}
	m = probes.Measurement{}
	if cfg.Relay != nil {
		if err := b.usesServer(*cfg.Relay); err != nil {
			return probes.Measurement{Err: err, Evidence: b.identity()}
		}
	}
	peer := &pionPeer{relay: cfg.Relay, done: make(chan struct{})}
	defer peer.close()
	id := rand.Text()
	defer b.pages.register(id, peer.answer)()

	var res interopResult
	arg := map[string]any{
		"signalURL": "/signal/" + id, "iceServers": []webrtc.ICEServer{}, "relayOnly": cfg.Relay != nil,
		"loopbackOnly": b.loopbackCandidates(), "durationMs": cfg.Duration.Milliseconds(), "messages": cfg.Messages,
	}
	if cfg.Relay != nil {
		arg["iceServers"] = []webrtc.ICEServer{probes.ICEServer(cfg.Relay.Server, cfg.Relay.Transport)}
	}
	ev, err := b.call(ctx, "interop", arg, &res, b.mediaPermission())
	defer func() { m.Evidence = b.withContext(m.Evidence, ev) }()
	got := peer.snapshot()
	if got.err != nil {
		m.AddEvidence("pion", got.err.Error())
	}
	if err != nil {
		m.Err = err
		return m
	}
	m.SetMetric("connected_ms", res.ConnectedMs)
	// Where the time to connected went, each from the start of the page check.
	m.SetMetric("gum_ms", res.GUMMs)
	m.SetMetric("gathered_ms", res.GatheredMs)
	m.SetMetric("answered_ms", res.AnsweredMs)
	m.SetMetric("dc_open_ms", res.OpenMs)
	m.SetMetric("dc_sent", float64(cfg.Messages))
	m.SetMetric("dc_lost", float64(cfg.Messages-res.Echoed))
	if len(res.RTTsMs) > 0 {
		var d probes.Durations
		for _, r := range res.RTTsMs {
			d = append(d, time.Duration(r*float64(time.Millisecond)))
		}
		m.SetMetric("dc_rtt_median_ms", d.Median())
	}
	// Chrome → pion.
	m.SetMetric("pion_video_packets", float64(got.videoPackets))
	m.SetMetric("pion_video_frames", float64(got.videoFrames))
	m.SetMetric("pion_audio_packets", float64(got.audioPackets))
	// pion → Chrome.
	var chromeFrames, chromeAudio float64
	if v := res.Video.Inbound; v != nil {
		chromeFrames = v.FramesDecoded
		m.AddEvidence("pion→browser video", fmt.Sprintf("%s %gx%g, %g frames decoded", v.Codec, v.FrameWidth, v.FrameHeight, v.FramesDecoded))
	}
	if a := res.Audio.Inbound; a != nil {
		chromeAudio = a.PacketsReceived
		m.AddEvidence("pion→browser audio", fmt.Sprintf("%s, %g packets", a.Codec, a.PacketsReceived))
	}
	m.SetMetric("chrome_frames_decoded", chromeFrames)
	m.SetMetric("chrome_audio_packets", chromeAudio)
	if v := res.Video.Outbound; v != nil {
		m.AddEvidence("browser→pion video", fmt.Sprintf("%s sent, %s received by pion", v.Codec, got.codecs["video"]))
	}
	if a := res.Audio.Outbound; a != nil {
		m.AddEvidence("browser→pion audio", fmt.Sprintf("%s sent, %s received by pion", a.Codec, got.codecs["audio"]))
	}
	if p := res.Pair; p != nil {
		m.AddEvidence("browser pair", p.Local+" ↔ "+p.Remote)
		if cfg.Relay != nil {
			m.SetMetric("relayed", boolMetric(p.LocalType == "relay"))
		}
	}
	if got.pair != "" {
		m.AddEvidence("pion pair", got.pair)
	}
	return m
}

// interopResult is what the interop page check resolves to.
type interopResult struct {
	GUMMs       float64   `json:"gumMs"`
	GatheredMs  float64   `json:"gatheredMs"`
	AnsweredMs  float64   `json:"answeredMs"`
	ConnectedMs float64   `json:"connectedMs"`
	OpenMs      float64   `json:"openMs"`
	Echoed      int       `json:"echoed"`
	RTTsMs      []float64 `json:"rttsMs"`
	Video       struct {
		Inbound  *inboundStats  `json:"inbound"`
		Outbound *outboundStats `json:"outbound"`
	} `json:"video"`
	Audio struct {
		Inbound  *inboundStats  `json:"inbound"`
		Outbound *outboundStats `json:"outbound"`
	} `json:"audio"`
	Pair *candidatePair `json:"pair"`
}

// pionPeer is the answering side of an interop call.
type pionPeer struct {
	relay *probes.Target

	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	closed bool          // no answer may start a connection any more
	done   chan struct{} // closed by close: an answer in progress gives up
	// answering counts answers in progress; readers the RTP/RTCP loops.
	answering sync.WaitGroup
	err       error
	codecs    map[string]string
	readers   sync.WaitGroup

	tracks []*webrtc.TrackLocalStaticSample

	videoPackets, videoFrames, audioPackets atomic.Int64
}

type peerStats struct {
	videoPackets, videoFrames, audioPackets int64
	codecs                                  map[string]string
	pair                                    string
	err                                     error
}

func (p *pionPeer) snapshot() peerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := peerStats{videoPackets: p.videoPackets.Load(), videoFrames: p.videoFrames.Load(),
		audioPackets: p.audioPackets.Load(), codecs: map[string]string{}, err: p.err}
	for k, v := range p.codecs {
		s.codecs[k] = v
	}
	if p.pc != nil {
		if pair := probes.SelectedPair(p.pc); pair != nil {
			s.pair = fmt.Sprintf("%s %s %s:%d ↔ %s %s:%d", pair.Local.Typ, pair.Local.Protocol, pair.Local.Address, pair.Local.Port,
				pair.Remote.Typ, pair.Remote.Address, pair.Remote.Port)
		}
	}
	return s
}

func (p *pionPeer) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	return err
}

// answer sets up the peer for Chrome's offer and returns the answer once
// its candidates are gathered (no trickle: one request, one answer).
func (p *pionPeer) answer(ctx context.Context, offer string) (string, error) {
	// close waits for a running answer before it closes the connection:
	// closing under a half-built one can leave its ICE agent running.
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", errors.New("the call is over")
	}
	p.answering.Add(1)
	p.mu.Unlock()
	defer p.answering.Done()
	// The peer stays on loopback unless it must reach a TURN server
	// elsewhere.
	apiCfg := probes.APIConfig{Loopback: true}
	conf := webrtc.Configuration{}
	if r := p.relay; r != nil {
		apiCfg.Relay, apiCfg.Loopback = true, probes.AllLoopback([]probes.Server{r.Server})
		// TURN over TCP and TLS is dialled as the TURN probes dial it, so
		// the peer trusts the certificates the run trusts.
		apiCfg.TURNDialer = probes.TURNDialer(ctx, *r)
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		conf.ICEServers = []webrtc.ICEServer{probes.ICEServer(r.Server, r.Transport)}
	}
	api, err := probes.NewAPI(apiCfg)
	if err != nil {
		return "", p.fail(err)
	}
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return "", p.fail(err)
	}
	p.mu.Lock()
	if p.pc != nil || p.closed {
		p.mu.Unlock()
		_ = pc.Close()
		return "", errors.New("the call has an answer already, or is over")
	}
	p.pc, p.codecs = pc, map[string]string{}
	p.mu.Unlock()

	// pion sends media of its own: rtcprobe's VP8 and Opus clips, played
	// in real time from the moment the connection is up.
	var clips []*media.Clip
	for _, load := range []func() (*media.Clip, error){media.Video, media.Audio} {
		clip, err := load()
		if err != nil {
			return "", p.fail(err)
		}
		kind := "audio"
		if clip.MimeType == webrtc.MimeTypeVP8 {
			kind = "video"
		}
		track, err := webrtc.NewTrackLocalStaticSample(clip.Capability(), kind, "rtcprobe")
		if err != nil {
			return "", p.fail(err)
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			return "", p.fail(err)
		}
		p.tracks = append(p.tracks, track)
		clips = append(clips, clip)
		p.readers.Add(1)
		go drainSender(&p.readers, sender)
	}
	var playOnce sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st != webrtc.PeerConnectionStateConnected {
			return
		}
		playOnce.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.closed {
				return
			}
			for i, clip := range clips {
				p.readers.Add(1)
				go p.play(clip, p.tracks[i])
			}
		})
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.mu.Lock()
		p.codecs[remote.Kind().String()] = remote.Codec().MimeType
		p.mu.Unlock()
		p.readers.Add(1)
		go p.count(remote)
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if msg.IsString {
				_ = dc.SendText(string(msg.Data))
			} else {
				_ = dc.Send(msg.Data)
			}
		})
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", p.fail(fmt.Errorf("pion: applying Chrome's offer: %w", err))
	}
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
		return "", errors.New("the call is over")
	}
	return pc.LocalDescription().SDP, nil
}

// count counts the packets (and, for video, the frames: the RTP marker
// bit ends one) that arrive on remote.
func (p *pionPeer) count(remote *webrtc.TrackRemote) {
	defer p.readers.Done()
	video := remote.Kind() == webrtc.RTPCodecTypeVideo
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			p.audioPackets.Add(1)
			continue
		}
		p.videoPackets.Add(1)
		if pkt.Marker {
			p.videoFrames.Add(1)
		}
	}
}

// play sends clip on track until the call ends.
func (p *pionPeer) play(clip *media.Clip, track *webrtc.TrackLocalStaticSample) {
	defer p.readers.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, _ = clip.Play(ctx, track, maxCall)
}

// maxCall bounds how long the pion peer plays its clips; the call's
// context ends it long before.
const maxCall = 10 * time.Minute

// close ends the call and waits for every reader to stop.
func (p *pionPeer) close() {
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
