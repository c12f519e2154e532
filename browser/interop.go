package browser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/stun/v4"
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
	// Throughput adds a bulk transfer up (browser → pion) and down on a
	// second data channel, each at most ThroughputTime (default 1 s).
	Throughput     bool
	ThroughputTime time.Duration
}

func (cfg InteropConfig) withDefaults() InteropConfig {
	if cfg.Duration <= 0 {
		cfg.Duration = 1500 * time.Millisecond
	}
	if cfg.Messages <= 0 {
		cfg.Messages = 10
	}
	if cfg.ThroughputTime <= 0 {
		cfg.ThroughputTime = time.Second
	}
	return cfg
}

// maxBulkBytes bounds each bulk transfer, whoever asks for more.
const maxBulkBytes = 16 << 20

// CallSetup is how an interop page check reaches its pion peer.
type CallSetup struct {
	// SignalURL is where the page posts its offer (and gets the answer),
	// with Headers (a session's token).
	SignalURL string
	Headers   map[string]string
	// LoopbackOnly drops the page's candidates that are neither loopback
	// nor relay (rtcprobe's own browser with loopback servers). A browser
	// elsewhere keeps them all, and waits for gathering to complete before
	// it offers.
	LoopbackOnly bool
	// ICEServers are what the browser gathers with on an all-candidates
	// call (a relay-only call uses its relay).
	ICEServers []webrtc.ICEServer
}

// InteropTask is the page check of browser.interop.
func InteropTask(cfg InteropConfig, setup CallSetup) Task {
	cfg = cfg.withDefaults()
	servers := setup.ICEServers
	if servers == nil {
		servers = []webrtc.ICEServer{}
	}
	arg := map[string]any{
		"signalURL": setup.SignalURL, "iceServers": servers, "relayOnly": cfg.Relay != nil,
		"loopbackOnly": setup.LoopbackOnly, "waitGathering": !setup.LoopbackOnly,
		"durationMs": cfg.Duration.Milliseconds(), "messages": cfg.Messages,
	}
	if len(setup.Headers) > 0 {
		arg["signalHeaders"] = setup.Headers
	}
	if cfg.Relay != nil {
		arg["iceServers"] = []webrtc.ICEServer{probes.ICEServer(cfg.Relay.Server, cfg.Relay.Transport)}
	}
	if cfg.Throughput {
		arg["throughputMs"] = cfg.ThroughputTime.Milliseconds()
		arg["throughputBytes"] = maxBulkBytes
	}
	return Task{Name: PageInterop, Arg: arg}
}

// Interop makes a real call between the browser and a pion/webrtc peer in
// this process, signaled over the page server: the browser sends its
// camera and mic and opens a data channel; the pion peer counts the
// packets and frames it receives, echoes every data channel message and
// sends media of its own (rtcprobe's VP8 and Opus clips); the browser's
// getStats shows what it decoded.
func Interop(ctx context.Context, b *Browser, cfg InteropConfig) probes.Measurement {
	cfg = cfg.withDefaults()
	if cfg.Relay != nil {
		if err := b.usesServer(*cfg.Relay); err != nil {
			return probes.Measurement{Err: err, Evidence: b.identity()}
		}
	}
	peer := NewCallPeer(CallPeerConfig{Relay: cfg.Relay})
	defer peer.Close()
	id := rand.Text()
	defer b.pages.register(id, peer.Answer)()
	task := InteropTask(cfg, CallSetup{SignalURL: "/signal/" + id, LoopbackOnly: b.loopbackCandidates()})
	if cfg.Relay != nil {
		task.Arg["iceServers"] = []webrtc.ICEServer{b.iceServerFor(*cfg.Relay)}
	}
	res, ev, err := b.run(ctx, task, b.mediaPermission())
	var m probes.Measurement
	if err != nil {
		m = probes.Failed(err)
		if got := peer.Stats(); got.Err != nil {
			m.AddEvidence("pion", got.Err.Error())
		}
	} else {
		m = InteropFrom(cfg, res, peer.Stats())
	}
	m.Evidence = b.withContext(m.Evidence, ev)
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
	// Down is what arrived from pion while media flowed (between two
	// getStats), per second; RemoteRTTMs the RTCP round trip.
	Down *struct {
		SpanMs        float64 `json:"spanMs"`
		Bytes         float64 `json:"bytes"`
		FramesDecoded float64 `json:"framesDecoded"`
	} `json:"down"`
	RemoteRTTMs *float64 `json:"remoteRttMs"`
	Bulk        *struct {
		DownBytes float64 `json:"downBytes"`
		DownMs    float64 `json:"downMs"`
	} `json:"bulk"`
}

// recordEcho records the data channel echo: messages sent and lost, and
// the median round trip of those that came back.
func (r interopResult) recordEcho(m *probes.Measurement, sent int) {
	m.SetMetric("dc_sent", float64(sent))
	m.SetMetric("dc_lost", float64(max(0, sent-r.Echoed)))
	if len(r.RTTsMs) > 0 {
		var d probes.Durations
		for _, rtt := range r.RTTsMs {
			d = append(d, time.Duration(rtt*float64(time.Millisecond)))
		}
		m.SetMetric("dc_rtt_median_ms", d.Median())
	}
}

// InteropFrom turns the interop page check's result and what the pion
// peer counted into browser.interop's measurement.
func InteropFrom(cfg InteropConfig, r PageResult, got CallStats) (m probes.Measurement) {
	cfg = cfg.withDefaults()
	if got.Err != nil {
		m.AddEvidence("pion", got.Err.Error())
	}
	if got.RefusedCandidates != "" {
		m.AddEvidence("remote candidates dropped", got.RefusedCandidates)
	}
	var res interopResult
	if m.Err = r.Decode(PageInterop, &res); m.Err != nil {
		return m
	}
	m.SetMetric("connected_ms", res.ConnectedMs)
	// Where the time to connected went, each from the start of the page check.
	m.SetMetric("gum_ms", res.GUMMs)
	m.SetMetric("gathered_ms", res.GatheredMs)
	m.SetMetric("answered_ms", res.AnsweredMs)
	m.SetMetric("dc_open_ms", res.OpenMs)
	res.recordEcho(&m, cfg.Messages)
	// Browser → pion, as pion counted it.
	m.SetMetric("pion_video_packets", float64(got.Video.Packets))
	m.SetMetric("pion_video_frames", float64(got.Video.Frames))
	m.SetMetric("pion_audio_packets", float64(got.Audio.Packets))
	if n := got.Video.Packets + got.Audio.Packets; n > 0 {
		m.SetMetric("up_loss_pct", probes.RTPCounts{Packets: n, Lost: got.Video.Lost + got.Audio.Lost}.LossPct())
		m.SetMetric("up_jitter_ms", got.Audio.JitterMs)
		if span := max(got.Video.Span, got.Audio.Span).Seconds(); span > 0.5 {
			m.SetMetric("up_kbps", float64(got.Video.Bytes+got.Audio.Bytes)*8/span/1000)
		}
		if span := got.Video.Span.Seconds(); span > 0.5 && got.Video.Frames > 1 {
			m.SetMetric("up_fps", float64(got.Video.Frames-1)/span)
		}
	}
	// Pion → browser, as the browser's getStats saw it.
	var browserFrames, browserAudio, received, lost float64
	if v := res.Video.Inbound; v != nil {
		browserFrames = v.FramesDecoded
		received, lost = received+v.PacketsReceived, lost+max(0, v.PacketsLost)
		m.AddEvidence("pion→browser video", fmt.Sprintf("%s %gx%g, %g frames decoded", v.Codec, v.FrameWidth, v.FrameHeight, v.FramesDecoded))
	}
	if a := res.Audio.Inbound; a != nil {
		browserAudio = a.PacketsReceived
		received, lost = received+a.PacketsReceived, lost+max(0, a.PacketsLost)
		if a.JitterMs != nil {
			m.SetMetric("down_jitter_ms", *a.JitterMs)
		}
		m.AddEvidence("pion→browser audio", fmt.Sprintf("%s, %g packets", a.Codec, a.PacketsReceived))
	}
	m.SetMetric("chrome_frames_decoded", browserFrames)
	m.SetMetric("chrome_audio_packets", browserAudio)
	if received+lost > 0 {
		m.SetMetric("down_loss_pct", 100*lost/(received+lost))
	}
	if d := res.Down; d != nil && d.SpanMs >= 500 {
		m.SetMetric("down_kbps", d.Bytes*8/d.SpanMs)
		m.SetMetric("down_fps", d.FramesDecoded/(d.SpanMs/1000))
	}
	if v := res.Video.Outbound; v != nil {
		m.AddEvidence("browser→pion video", fmt.Sprintf("%s sent, %s received by pion", v.Codec, got.Codecs["video"]))
	}
	if a := res.Audio.Outbound; a != nil {
		m.AddEvidence("browser→pion audio", fmt.Sprintf("%s sent, %s received by pion", a.Codec, got.Codecs["audio"]))
	}
	switch p := res.Pair; {
	case p != nil && p.RTTMs != nil:
		m.SetMetric("rtt_ms", *p.RTTMs)
	case res.RemoteRTTMs != nil:
		m.SetMetric("rtt_ms", *res.RemoteRTTMs)
	}
	if p := res.Pair; p != nil {
		pair := p.typed()
		m.Summary = &CallSummary{Pair: pair}
		m.AddEvidence("browser pair", p.Local+" ↔ "+p.Remote)
		if cfg.Relay != nil {
			m.SetMetric("relayed", boolMetric(pair.Relayed()))
		}
	}
	if got.Pair != "" {
		m.AddEvidence("pion pair", got.Pair)
	}
	if cfg.Throughput {
		if got.BulkUp.Bytes > 0 && got.BulkUp.Span > 0 {
			m.SetMetric("dc_up_mbps", float64(got.BulkUp.Bytes)*8/got.BulkUp.Span.Seconds()/1e6)
		}
		if b := res.Bulk; b != nil && b.DownMs > 0 && b.DownBytes > 0 {
			m.SetMetric("dc_down_mbps", b.DownBytes*8/b.DownMs/1000)
		}
	}
	return m
}

// CallPeerConfig sets up the pion side of a call with a browser.
type CallPeerConfig struct {
	// Relay, when set, makes the peer relay-only through this TURN server
	// and transport.
	Relay *probes.Target
	// Hosted is a browser elsewhere (the pre-call page): the peer gathers
	// on every interface, with server-reflexive candidates from STUN.
	// Without it the peer stays on loopback, as rtcprobe's own browser
	// does, unless it must reach a TURN server elsewhere.
	Hosted bool
	// IncludeLoopback adds loopback candidates to a hosted peer's, for a
	// browser on the same host.
	IncludeLoopback bool
	// STUN servers give a hosted peer server-reflexive candidates.
	STUN []probes.Server
	// Addresses, when set, are the only local addresses a hosted peer
	// offers candidates on (the operator's precall.peer_addresses).
	Addresses []netip.Addr
	// RefusedCandidates says which of the offer's remote candidates the
	// caller dropped before the peer saw them, for the report.
	RefusedCandidates string
}

// CallStats is what the pion peer of a call saw.
type CallStats struct {
	// Video and Audio count what arrived from the browser.
	Video, Audio probes.RTPCounts
	// Codecs are the MIME types received, by kind.
	Codecs map[string]string
	// Pair is pion's selected candidate pair.
	Pair string
	// BulkUp is the bulk transfer the browser sent: bytes, and the time
	// from the first byte to the browser's end mark.
	BulkUp struct {
		Bytes int64
		Span  time.Duration
	}
	// Err is the first thing that went wrong on pion's side.
	Err error
	// RefusedCandidates is CallPeerConfig's.
	RefusedCandidates string
}

// CallPeer is the pion side of a call with a browser: it answers the
// browser's offer, counts what arrives, echoes data channel messages,
// takes bulk transfers and sends rtcprobe's VP8 and Opus clips.
type CallPeer struct {
	cfg CallPeerConfig
	peerLife
	codecs map[string]string

	tracks []*webrtc.TrackLocalStaticSample

	video, audio probes.RTPReceiver
	bulkBytes    int64
	bulkFirst    time.Time
	bulkSpan     time.Duration
}

// NewCallPeer prepares a peer; Answer starts the call.
func NewCallPeer(cfg CallPeerConfig) *CallPeer {
	return &CallPeer{cfg: cfg, peerLife: newPeerLife(), video: probes.RTPReceiver{Video: true}}
}

// Stats returns what the peer saw so far.
func (p *CallPeer) Stats() CallStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := CallStats{Video: p.video.Snapshot(), Audio: p.audio.Snapshot(), Codecs: map[string]string{}, Err: p.err, RefusedCandidates: p.cfg.RefusedCandidates}
	for k, v := range p.codecs {
		s.Codecs[k] = v
	}
	s.BulkUp.Bytes, s.BulkUp.Span = p.bulkBytes, p.bulkSpan
	if p.pc != nil {
		if pair := probes.SelectedPair(p.pc); pair != nil {
			s.Pair = fmt.Sprintf("%s %s %s:%d ↔ %s %s:%d", pair.Local.Typ, pair.Local.Protocol, pair.Local.Address, pair.Local.Port,
				pair.Remote.Typ, pair.Remote.Address, pair.Remote.Port)
		}
	}
	return s
}

// api builds the peer's pion API: on loopback for rtcprobe's own browser,
// on every interface for a hosted one; relay-only through the TURN
// server of a relay call.
func (p *CallPeer) api(ctx context.Context) (*webrtc.API, webrtc.Configuration, error) {
	apiCfg := probes.APIConfig{Loopback: !p.cfg.Hosted, IncludeLoopback: p.cfg.Hosted && p.cfg.IncludeLoopback}
	if p.cfg.Hosted {
		apiCfg.Addresses = p.cfg.Addresses
	}
	conf := webrtc.Configuration{}
	if r := p.cfg.Relay; r != nil {
		apiCfg.Relay = true
		if !p.cfg.Hosted {
			// Stays on loopback unless it must reach a TURN server elsewhere.
			apiCfg.Loopback = probes.AllLoopback([]probes.Server{r.Server})
		}
		// TURN over TCP and TLS is dialled as the TURN probes dial it, so
		// the peer trusts the certificates the run trusts.
		apiCfg.TURNDialer = probes.TURNDialer(ctx, *r)
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		conf.ICEServers = []webrtc.ICEServer{probes.ICEServer(r.Server, r.Transport)}
	} else if p.cfg.Hosted {
		for _, s := range p.cfg.STUN {
			if s.URI.Scheme == stun.SchemeTypeSTUN {
				conf.ICEServers = append(conf.ICEServers, probes.ICEServer(s, probes.UDP))
			}
		}
	}
	api, err := probes.NewAPI(apiCfg)
	return api, conf, err
}

// Answer sets up the peer for the browser's offer and returns the answer
// once its candidates are gathered (no trickle: one request, one answer).
func (p *CallPeer) Answer(ctx context.Context, offer string) (string, error) {
	// Close waits for a running answer before it closes the connection:
	// closing under a half-built one can leave its ICE agent running.
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", errors.New("the call is over")
	}
	p.answering.Add(1)
	p.mu.Unlock()
	defer p.answering.Done()
	api, conf, err := p.api(ctx)
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
	var plays []func()
	for i, clip := range clips {
		plays = append(plays, func() { p.play(clip, p.tracks[i]) })
	}
	p.onConnected(pc, plays...)
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.mu.Lock()
		p.codecs[remote.Kind().String()] = remote.Codec().MimeType
		p.mu.Unlock()
		rx := &p.audio
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			rx = &p.video
		}
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			rx.Read(remote)
		}()
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == bulkLabel {
			p.bulk(dc)
			return
		}
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if msg.IsString {
				_ = dc.SendText(string(msg.Data))
			} else {
				_ = dc.Send(msg.Data)
			}
		})
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", p.fail(fmt.Errorf("pion: applying the browser's offer: %w", err))
	}
	return p.answerGathered(ctx, pc)
}

// bulkLabel is the data channel of the bulk transfers.
const bulkLabel = "bulk"

// bulk serves the bulk transfers on dc: binary messages up are counted
// until the text "up-end", which is answered with what arrived; the text
// "down BYTES MS" is answered with that many bytes (at most maxBulkBytes,
// for at most MS, at most 5 s), then "down-end".
func (p *CallPeer) bulk(dc *webrtc.DataChannel) {
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		now := time.Now()
		if !msg.IsString {
			p.mu.Lock()
			if p.bulkBytes == 0 {
				p.bulkFirst = now
			}
			p.bulkBytes += int64(len(msg.Data))
			p.mu.Unlock()
			return
		}
		text := string(msg.Data)
		switch {
		case text == "up-end":
			p.mu.Lock()
			if p.bulkBytes > 0 {
				p.bulkSpan = now.Sub(p.bulkFirst)
			}
			n, span := p.bulkBytes, p.bulkSpan
			p.mu.Unlock()
			_ = dc.SendText(fmt.Sprintf(`{"bytes":%d,"ms":%.3f}`, n, float64(span)/float64(time.Millisecond)))
		case strings.HasPrefix(text, "down "):
			var n, ms int64
			if _, err := fmt.Sscanf(text, "down %d %d", &n, &ms); err != nil || n <= 0 || ms <= 0 {
				return
			}
			go p.sendBulk(dc, min(n, maxBulkBytes), min(time.Duration(ms)*time.Millisecond, 5*time.Second))
		}
	})
}

// sendBulk sends n bytes (or what fits in d) on dc, keeping at most 1 MiB
// buffered, then the end mark.
func (p *CallPeer) sendBulk(dc *webrtc.DataChannel, n int64, d time.Duration) {
	const chunk, high = 16 << 10, 1 << 20
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(high / 2)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	buf := make([]byte, chunk)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for sent := int64(0); sent < n; sent += chunk {
		for dc.BufferedAmount() > high {
			select {
			case <-low:
			case <-timer.C:
				_ = dc.SendText("down-end")
				return
			case <-p.done:
				return
			}
		}
		select {
		case <-timer.C:
			_ = dc.SendText("down-end")
			return
		case <-p.done:
			return
		default:
		}
		if err := dc.Send(buf[:min(chunk, n-sent)]); err != nil {
			return
		}
	}
	_ = dc.SendText("down-end")
}

// play sends clip on track until the call ends.
func (p *CallPeer) play(clip *media.Clip, track *webrtc.TrackLocalStaticSample) {
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

// Close ends the call and waits for every reader to stop.
func (p *CallPeer) Close() { p.close() }
