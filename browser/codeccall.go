package browser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Codec is one codec of the interop matrix: a call negotiates it alone.
type Codec struct {
	// Name is how reports name it: "VP8", "H.264", "G.722".
	Name      string
	Kind      Kind
	MimeType  string
	ClockRate uint32
	Channels  uint16
	// SDPFmtpLine is what pion offers and matches on (H.264: constrained
	// baseline, packetization-mode 1).
	SDPFmtpLine string
}

// MatrixCodecs are the codecs of the interop matrix, video first.
var MatrixCodecs = []Codec{
	{Name: "VP8", Kind: Video, MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	{Name: "VP9", Kind: Video, MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"},
	{Name: "H.264", Kind: Video, MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
	{Name: "AV1", Kind: Video, MimeType: webrtc.MimeTypeAV1, ClockRate: 90000},
	{Name: "Opus", Kind: Audio, MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
	{Name: "PCMU", Kind: Audio, MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
	{Name: "PCMA", Kind: Audio, MimeType: webrtc.MimeTypePCMA, ClockRate: 8000},
	{Name: "G.722", Kind: Audio, MimeType: webrtc.MimeTypeG722, ClockRate: 8000},
}

// payloadTypes are pion's own numbers for the matrix codecs (the browser
// offers its own; pion answers with those).
var payloadTypes = map[string]webrtc.PayloadType{
	webrtc.MimeTypeVP8: 96, webrtc.MimeTypeVP9: 98, webrtc.MimeTypeH264: 102, webrtc.MimeTypeAV1: 45,
	webrtc.MimeTypeOpus: 111, webrtc.MimeTypePCMU: 0, webrtc.MimeTypePCMA: 8, webrtc.MimeTypeG722: 9,
}

func (c Codec) capability() webrtc.RTPCodecCapability {
	cap := webrtc.RTPCodecCapability{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine}
	if c.Kind == Video {
		cap.RTCPFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	}
	return cap
}

// CodecCallConfig adjusts a codec call.
type CodecCallConfig struct {
	// Duration is how long media flows once connected (default 2 s).
	Duration time.Duration
	// Clip replaces what pion sends (tests: a stream labelled as another
	// codec, which the browser must fail to decode).
	Clip *media.Clip
}

// CodecCallResult is what a codec call showed each way.
type CodecCallResult struct {
	// Flows are the two directions: from the offering end to the other,
	// and back. A direction that was not negotiated has an unsupported
	// error saying why.
	Flows [2]probes.Measurement
}

// errNotNegotiated marks a direction a codec could not take.
func notNegotiated(format string, args ...any) error {
	return fmt.Errorf("%w: not negotiated: %s", probes.ErrUnsupported, fmt.Sprintf(format, args...))
}

// caps is what a browser can send and receive of each matrix codec,
// read once per browser.
type caps struct {
	send, receive map[string]bool
}

// codecSupport reads the browser's capabilities for the matrix codecs
// (the codecs page check), once.
func (b *Browser) codecSupport(ctx context.Context) (caps, error) {
	b.capsMu.Lock()
	defer b.capsMu.Unlock()
	if b.caps != nil {
		return *b.caps, nil
	}
	var res struct {
		Sender   map[string][]codecCap `json:"sender"`
		Receiver map[string][]codecCap `json:"receiver"`
	}
	if _, err := b.call(ctx, Task{Name: PageCodecs}, &res, permissionDefault); err != nil {
		return caps{}, err
	}
	c := caps{send: map[string]bool{}, receive: map[string]bool{}}
	for _, mc := range MatrixCodecs {
		c.send[mc.MimeType] = hasCodec(res.Sender[string(mc.Kind)], mc)
		c.receive[mc.MimeType] = hasCodec(res.Receiver[string(mc.Kind)], mc)
	}
	b.caps = &c
	return c, nil
}

// hasCodec: H.264 must be constrained baseline with packetization-mode 1,
// as the page asks for it.
func hasCodec(list []codecCap, c Codec) bool {
	for _, x := range list {
		if !strings.EqualFold(x.MimeType, c.MimeType) {
			continue
		}
		if c.MimeType != webrtc.MimeTypeH264 {
			return true
		}
		f := strings.ToLower(x.SDPFmtpLine)
		if strings.Contains(f, "packetization-mode=1") && strings.Contains(f, "profile-level-id=42e0") {
			return true
		}
	}
	return false
}

// codecPage is what the codecCall page check returns.
type codecPage struct {
	Negotiated string         `json:"negotiated"`
	Direction  string         `json:"direction"`
	Inbound    *codecInbound  `json:"inbound"`
	Outbound   *codecOutbound `json:"outbound"`
}

// codecInbound is the receiving side's inbound-rtp stats; pointers for
// the fields a browser may not report.
type codecInbound struct {
	Codec                  string   `json:"codec"`
	PacketsReceived        float64  `json:"packetsReceived"`
	PacketsLost            float64  `json:"packetsLost"`
	FramesReceived         *float64 `json:"framesReceived"`
	FramesDecoded          *float64 `json:"framesDecoded"`
	KeyFramesDecoded       *float64 `json:"keyFramesDecoded"`
	FrameWidth             float64  `json:"frameWidth"`
	FrameHeight            float64  `json:"frameHeight"`
	DecoderImplementation  string   `json:"decoderImplementation"`
	PLICount               *float64 `json:"pliCount"`
	TotalSamplesReceived   *float64 `json:"totalSamplesReceived"`
	ConcealedSamples       *float64 `json:"concealedSamples"`
	SilentConcealedSamples *float64 `json:"silentConcealedSamples"`
}

// codecOutbound is the sending side's outbound-rtp stats.
type codecOutbound struct {
	Codec                   string  `json:"codec"`
	PacketsSent             float64 `json:"packetsSent"`
	FramesEncoded           float64 `json:"framesEncoded"`
	FrameWidth              float64 `json:"frameWidth"`
	FrameHeight             float64 `json:"frameHeight"`
	EncoderImplementation   string  `json:"encoderImplementation"`
	QualityLimitationReason string  `json:"qualityLimitationReason"`
}

// CodecCall makes a call between a (which offers) and b (nil: rtcprobe's
// pion peer) that negotiates codec c alone, with media of its kind each
// way both ends support, and verifies each direction at the receiver: a
// browser decoded frames of the size sent with a named decoder, or
// played audio without much concealment; pion, which decodes nothing,
// got complete frames with keyframes and well-formed payload descriptors,
// or audio at the codec's clock rate.
func CodecCall(ctx context.Context, a, b *Browser, c Codec, cfg CodecCallConfig) (res CodecCallResult) {
	if cfg.Duration <= 0 {
		cfg.Duration = 2 * time.Second
	}
	capsA, err := a.codecSupport(ctx)
	if err != nil {
		return failedCall(err)
	}
	// pion sends and receives every matrix codec.
	capsB := caps{send: map[string]bool{c.MimeType: true}, receive: map[string]bool{c.MimeType: true}}
	if b != nil {
		if capsB, err = b.codecSupport(ctx); err != nil {
			return failedCall(err)
		}
	}
	ab := capsA.send[c.MimeType] && capsB.receive[c.MimeType]
	ba := capsB.send[c.MimeType] && capsA.receive[c.MimeType]
	why := func(from, to *Browser, fromCaps, toCaps caps) error {
		switch {
		case !fromCaps.send[c.MimeType]:
			return notNegotiated("%s does not send %s", from.product(), c.Name)
		case !toCaps.receive[c.MimeType]:
			return notNegotiated("%s does not receive %s", to.product(), c.Name)
		}
		return nil
	}
	if !ab {
		res.Flows[0] = probes.Failed(why(a, b, capsA, capsB))
	}
	if !ba {
		res.Flows[1] = probes.Failed(why(b, a, capsB, capsA))
	}
	if !ab && !ba {
		return res
	}
	id := rand.Text()
	arg := map[string]any{"role": "offer", "signalURL": "/signal/" + id, "kind": c.Kind, "mimeType": c.MimeType,
		"send": ab, "receive": ba, "loopbackOnly": a.loopbackCandidates(), "durationMs": cfg.Duration.Milliseconds()}
	var (
		pageA, pageB codecPage
		evA, evB     []probes.Evidence
		errA, errB   error
		peer         *codecPeer
	)
	if b == nil {
		clip := cfg.Clip
		if clip == nil {
			if clip, err = media.ClipFor(c.MimeType); err != nil {
				return failedCall(err)
			}
		}
		peer = newCodecPeer(c, clip, ba)
		defer peer.close()
		defer a.pages.register(id, peer.answer)()
		evA, errA = a.call(ctx, Task{Name: PageCodecCall, Arg: arg}, &pageA, a.mediaPermission())
	} else {
		rl := newRelay()
		defer rl.close()
		defer a.pages.register(id, rl.exchange)()
		defer b.pages.registerRelay(id, rl)()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			argB := map[string]any{"role": "answer", "offerURL": "/relay/" + id + "/offer", "answerURL": "/relay/" + id + "/answer",
				"kind": c.Kind, "mimeType": c.MimeType, "send": ba, "receive": ab, "loopbackOnly": b.loopbackCandidates(),
				"durationMs": cfg.Duration.Milliseconds()}
			evB, errB = b.call(ctx, Task{Name: PageCodecCall, Arg: argB}, &pageB, b.mediaPermission())
			if errB != nil {
				rl.close() // the offering side stops waiting for an answer
			}
		}()
		evA, errA = a.call(ctx, Task{Name: PageCodecCall, Arg: arg}, &pageA, a.mediaPermission())
		if errA != nil {
			rl.close() // the answering side stops waiting for an offer
		}
		wg.Wait()
	}
	ev := append(a.withContext(nil, evA), bEvidence(b, evB)...)
	for _, e := range []error{errA, errB} {
		if e != nil {
			for i := range res.Flows {
				if res.Flows[i].Err == nil {
					res.Flows[i] = probes.Measurement{Err: e}
				}
			}
		}
	}
	if peer != nil {
		if perr := peer.failure(); perr != nil {
			ev = append(ev, probes.Evidence{Name: "pion", Value: perr.Error()})
		}
	}
	if errA == nil && errB == nil {
		switch {
		case pageA.Negotiated == "":
			err := notNegotiated("the answer rejected %s", c.Name)
			res.Flows = [2]probes.Measurement{probes.Failed(err), probes.Failed(err)}
		case b == nil:
			if ab {
				res.Flows[0] = pionReceived(c, pageA, peer.stream.Stats())
			}
			if ba {
				res.Flows[1] = browserReceived(c, pageA, nil, media.ClipWidth, media.ClipHeight)
			}
		default:
			if ab {
				res.Flows[0] = browserReceived(c, pageB, pageA.Outbound, 0, 0)
			}
			if ba {
				res.Flows[1] = browserReceived(c, pageA, pageB.Outbound, 0, 0)
			}
		}
	}
	for i := range res.Flows {
		res.Flows[i].Evidence = append(res.Flows[i].Evidence, ev...)
	}
	return res
}

func failedCall(err error) CodecCallResult {
	return CodecCallResult{Flows: [2]probes.Measurement{probes.Failed(err), probes.Failed(err)}}
}

// bEvidence is the answering browser's console and identity, if any.
func bEvidence(b *Browser, ev []probes.Evidence) []probes.Evidence {
	if b == nil {
		return nil
	}
	return b.withContext(nil, ev)
}

// product names a browser in a sentence ("HeadlessChrome/156…"), or pion.
func (b *Browser) product() string {
	if b == nil {
		return "pion"
	}
	return b.version
}

// browserReceived reads what a browser received and decoded; the sending
// browser's outbound stats (nil for pion) name its encoder and the size it
// sent, else w×h is the size sent.
func browserReceived(c Codec, recv codecPage, sent *codecOutbound, w, h float64) (m probes.Measurement) {
	if sent != nil {
		w, h = sent.FrameWidth, sent.FrameHeight
	}
	in := recv.Inbound
	if in == nil || in.PacketsReceived == 0 {
		m.Err = errors.New("no " + c.Name + " packet arrived")
		return m
	}
	m.SetMetric("packets", in.PacketsReceived)
	m.SetMetric("packets_lost", math.Max(0, in.PacketsLost))
	m.AddEvidence("negotiated", recv.Negotiated)
	if c.Kind == Video {
		decoded := 0.0
		if in.FramesDecoded != nil {
			decoded = *in.FramesDecoded
		}
		m.SetMetric("frames_decoded", decoded)
		if in.KeyFramesDecoded != nil {
			m.SetMetric("keyframes_decoded", *in.KeyFramesDecoded)
		}
		if in.FramesReceived != nil && *in.FramesReceived > 0 {
			m.SetMetric("decoded_pct", math.Min(100, 100*decoded / *in.FramesReceived))
		}
		if decoded > 0 {
			m.SetMetric("width", in.FrameWidth)
			m.SetMetric("height", in.FrameHeight)
			if w > 0 && h > 0 {
				m.SetMetric("size_match", boolMetric(in.FrameWidth == w && in.FrameHeight == h))
			}
		}
		if in.PLICount != nil {
			m.SetMetric("pli_count", *in.PLICount)
		}
		m.AddEvidence("received", fmt.Sprintf("%s %gx%g (sent %gx%g), %g frames decoded", in.Codec, in.FrameWidth, in.FrameHeight, w, h, decoded))
		if in.DecoderImplementation != "" {
			m.AddEvidence("decoder", in.DecoderImplementation)
		}
	} else {
		if s := in.TotalSamplesReceived; s != nil {
			m.SetMetric("samples", *s)
			if in.ConcealedSamples != nil && *s > 0 {
				// Silent concealment is the jitter buffer waiting for the
				// first packets, not lost speech.
				concealed := *in.ConcealedSamples
				if in.SilentConcealedSamples != nil {
					concealed -= *in.SilentConcealedSamples
				}
				m.SetMetric("concealed_pct", 100*math.Max(0, concealed)/(*s))
			}
		}
		m.AddEvidence("received", fmt.Sprintf("%s, %g packets", in.Codec, in.PacketsReceived))
	}
	if sent != nil && sent.EncoderImplementation != "" {
		m.AddEvidence("encoder", sent.EncoderImplementation)
	}
	return m
}

// pionReceived reads what pion's stream inspection saw of a browser's
// stream (send: the sending page's stats).
func pionReceived(c Codec, send codecPage, st probes.CodecStreamStats) (m probes.Measurement) {
	if st.Packets == 0 {
		m.Err = errors.New("no " + c.Name + " packet arrived at pion")
		return m
	}
	m.SetMetric("packets", float64(st.Packets))
	m.SetMetric("bad_payloads", float64(st.BadPayloads))
	m.SetMetric("seq_gaps", float64(st.SeqGaps))
	m.AddEvidence("negotiated", send.Negotiated)
	if c.Kind == Video {
		m.SetMetric("frames", float64(st.Frames))
		m.SetMetric("keyframes", float64(st.Keyframes))
		m.SetMetric("incomplete_frames", float64(st.Incomplete))
		m.SetMetric("timestamps_back", float64(st.TimestampsBack))
		size := ""
		if st.Width > 0 {
			size = fmt.Sprintf(" %dx%d", st.Width, st.Height)
		}
		m.AddEvidence("received by pion", fmt.Sprintf("%s%s: %d complete frames (%d keyframes), %d incomplete", c.MimeType, size, st.Frames, st.Keyframes, st.Incomplete))
	} else {
		m.SetMetric("clock_rate_hz", st.ClockRateHz)
		if st.Span >= 500*time.Millisecond {
			m.SetMetric("clock_error_pct", st.ClockErrorPct(c.ClockRate))
		}
		m.AddEvidence("received by pion", fmt.Sprintf("%s: %d packets, timestamps at %.0f Hz (codec clock %d Hz)", c.MimeType, st.Packets, st.ClockRateHz, c.ClockRate))
	}
	if o := send.Outbound; o != nil && o.EncoderImplementation != "" {
		m.AddEvidence("encoder", o.EncoderImplementation)
	}
	return m
}

// codecPeer is pion's end of a codec call: it answers with the one codec,
// sends its clip when the browser receives it, and inspects what arrives.
type codecPeer struct {
	codec  Codec
	clip   *media.Clip
	send   bool
	stream *probes.CodecStream
	peerLife
}

func newCodecPeer(c Codec, clip *media.Clip, send bool) *codecPeer {
	return &codecPeer{codec: c, clip: clip, send: send, stream: probes.NewCodecStream(c.MimeType, c.ClockRate), peerLife: newPeerLife()}
}

// answer answers the browser's offer once pion's candidates are gathered.
func (p *codecPeer) answer(ctx context.Context, offer string) (string, error) {
	p.mu.Lock()
	if p.closed || p.pc != nil {
		p.mu.Unlock()
		return "", errors.New("the call has an answer already, or is over")
	}
	p.answering.Add(1)
	p.mu.Unlock()
	defer p.answering.Done()
	api, err := probes.NewAPI(probes.APIConfig{Loopback: true,
		Codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: p.codec.capability(), PayloadType: payloadTypes[p.codec.MimeType]}}})
	if err != nil {
		return "", p.fail(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", p.fail(err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = pc.Close()
		return "", errCallOver
	}
	p.pc = pc
	p.mu.Unlock()
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.readers.Add(1)
		go p.inspect(remote)
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", p.fail(fmt.Errorf("pion: applying the offer: %w", err))
	}
	if p.send {
		track, err := webrtc.NewTrackLocalStaticSample(p.codec.capability(), string(p.codec.Kind), "rtcprobe")
		if err != nil {
			return "", p.fail(err)
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			return "", p.fail(fmt.Errorf("pion: sending %s: %w", p.codec.Name, err))
		}
		p.readers.Add(1)
		go drainSender(&p.readers, sender)
		p.onConnected(pc, func() { p.play(track) })
	}
	return p.answerGathered(ctx, pc)
}

// inspect feeds every packet of the browser's stream to the inspection.
func (p *codecPeer) inspect(remote *webrtc.TrackRemote) {
	defer p.readers.Done()
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		p.stream.Add(pkt, time.Now())
	}
}

// play sends the clip in real time until the call ends.
func (p *codecPeer) play(track *webrtc.TrackLocalStaticSample) {
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
	_, _ = p.clip.Play(ctx, track, maxCall)
}

// drainSender reads a sender's RTCP, which its interceptors need read.
// Keyframe requests go unanswered: the clips are pre-encoded, with a
// keyframe at the start of every loop.
func drainSender(wg *sync.WaitGroup, sender *webrtc.RTPSender) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}
