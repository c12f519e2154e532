package probes

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/rtcprobe/rtcprobe/internal/media"
)

// publisher sends an audio and a video clip to a WHIP endpoint at
// real-time pace: the clips of the codecs the server's answer picked.
type publisher struct {
	*httpPeer
	// clips and tracks are audio first, then video.
	clips   []*media.Clip
	tracks  []*webrtc.TrackLocalStaticSample
	senders []*webrtc.RTPSender
	rtts    rttSamples
	// sent logs when each audio frame left, by payload, for a loopback's
	// end-to-end delay.
	sent    *sendLog
	wg      sync.WaitGroup
	started time.Time
	took    time.Duration
}

// startPublisher connects a publisher to the WHIP endpoint. The offer
// lists every codec rtcprobe has a clip of; the tracks are Opus and VP8
// until the answer names the codecs to send.
func startPublisher(ctx context.Context, ep Endpoint, cfg HTTPConfig) (*publisher, error) {
	audio, err := media.Audio()
	if err != nil {
		return nil, err
	}
	video, err := media.Video()
	if err != nil {
		return nil, err
	}
	hp, err := newHTTPPeer("WHIP", ep, cfg)
	if err != nil {
		return nil, err
	}
	p := &publisher{httpPeer: hp, clips: []*media.Clip{audio, video}, sent: &sendLog{}}
	hp.allSections, hp.onAnswer = true, p.pickClips
	for _, c := range p.clips {
		tr, err := newClipTrack(c)
		if err != nil {
			p.stop(ctx)
			return nil, err
		}
		s, err := p.pc.AddTrack(tr)
		if err != nil {
			p.stop(ctx)
			return nil, err
		}
		p.tracks, p.senders = append(p.tracks, tr), append(p.senders, s)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				p.rtts.add(time.Now(), pkts)
			}
		}()
	}
	if err := p.establish(ctx); err != nil {
		_ = p.stop(ctx)
		return nil, err
	}
	return p, nil
}

func newClipTrack(c *media.Clip) (*webrtc.TrackLocalStaticSample, error) {
	return webrtc.NewTrackLocalStaticSample(c.Capability(), kindOf(c.MimeType).String(), "rtcprobe")
}

// pickClips swaps each track for the clip of the codec the answer picked
// for its kind, before the answer is applied (pion binds a track to the
// negotiated codec then).
func (p *publisher) pickClips(secs []answeredSection) error {
	for _, s := range secs {
		i := slices.IndexFunc(p.clips, func(c *media.Clip) bool { return kindOf(c.MimeType) == s.Kind })
		if i < 0 || s.Codec == nil || strings.EqualFold(p.clips[i].MimeType, s.Codec.MimeType) {
			continue
		}
		clip, err := clipFor(s.Codec)
		if err != nil {
			return err
		}
		tr, err := newClipTrack(clip)
		if err != nil {
			return err
		}
		if err := p.senders[i].ReplaceTrack(tr); err != nil {
			return fmt.Errorf("sending %s: %w", codecName(clip.MimeType), err)
		}
		p.clips[i], p.tracks[i] = clip, tr
	}
	return nil
}

// play sends both clips until ctx ends or d has passed (d <= 0: until ctx
// ends); the error is the first write that failed.
func (p *publisher) play(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		d = 24 * time.Hour
	}
	p.started = time.Now()
	errs := make(chan error, len(p.clips))
	for i, c := range p.clips {
		var w media.SampleWriter = p.tracks[i]
		if i == 0 {
			w = p.sent.wrap(w)
		}
		go func() {
			_, err := c.Play(ctx, w, d)
			errs <- err
		}()
	}
	var first error
	for range p.clips {
		if err := <-errs; err != nil && first == nil && ctx.Err() == nil {
			first = err
		}
	}
	p.took = time.Since(p.started)
	return first
}

// stop ends the session and waits for the RTCP readers; the DELETE's
// error is returned.
func (p *publisher) stop(ctx context.Context) error {
	err := p.close(ctx)
	p.wg.Wait()
	return err
}

// record writes what the sender and the server's RTCP reports say.
func (p *publisher) record(m *Measurement) {
	var (
		sent, bytes uint64
		lost        int64
	)
	for _, s := range p.senders {
		enc := s.GetParameters().Encodings
		if len(enc) == 0 {
			continue
		}
		out, ri := p.outbound(uint32(enc[0].SSRC))
		sent += out.PacketsSent
		bytes += out.BytesSent
		lost += max(0, ri.PacketsLost)
	}
	m.SetMetric("packets_sent", float64(sent))
	if p.took > 0 {
		m.SetMetric("bitrate_kbps", round3(float64(bytes)*8/p.took.Seconds()/1000))
	}
	if p.rtts.count() > 0 && sent > 0 {
		m.SetMetric("rtcp_loss_pct", round3(float64(lost)/float64(sent)*100))
	} else {
		m.AddEvidence("rtcp", "the server sent no RTCP receiver report: loss as the server saw it is unknown")
	}
	if r := p.rtts.get(); len(r) > 0 {
		m.SetMetric("rtt_ms", round3(r.Median()))
		m.SetMetric("rtt_max_ms", r.Percentile(100))
	}
}

// sendLog remembers when each payload was sent, by hash.
type sendLog struct {
	mu sync.Mutex
	at map[uint64]sendTimes
}

// sendTimes are a payload's last two send times: a payload sent twice
// within a second (silence) cannot say which sending arrived.
type sendTimes struct{ last, prev time.Time }

type loggedWriter struct {
	w   media.SampleWriter
	log *sendLog
}

func (l loggedWriter) WriteSample(s pionmedia.Sample) error {
	l.log.add(s.Data, time.Now())
	return l.w.WriteSample(s)
}

func (l *sendLog) wrap(w media.SampleWriter) media.SampleWriter { return loggedWriter{w: w, log: l} }

func payloadHash(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

func (l *sendLog) add(payload []byte, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil {
		l.at = map[uint64]sendTimes{}
	}
	k := payloadHash(payload)
	l.at[k] = sendTimes{last: at, prev: l.at[k].last}
}

// sentAt is when payload was sent, if that is known without doubt.
func (l *sendLog) sentAt(payload []byte, arrived time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.at[payloadHash(payload)]
	switch {
	case !ok:
		return time.Time{}, false
	case t.last.After(arrived):
		// Sent again since: the arrival is of the sending before.
		t = sendTimes{last: t.prev}
	}
	if t.last.IsZero() || (!t.prev.IsZero() && t.last.Sub(t.prev) < time.Second) {
		return time.Time{}, false
	}
	return t.last, true
}

// viewer plays a WHEP endpoint: one audio and one video stream received.
type viewer struct {
	*httpPeer
	mu      sync.Mutex
	streams map[webrtc.RTPCodecType]*viewStream
	wg      sync.WaitGroup
	// delays are end-to-end delays of payloads matched in sent (nil:
	// not measured).
	sent   *sendLog
	delays Durations
}

type viewStream struct {
	rx   *RTPReceiver
	ssrc uint32
}

func startViewer(ctx context.Context, ep Endpoint, cfg HTTPConfig, sent *sendLog) (*viewer, error) {
	hp, err := newHTTPPeer("WHEP", ep, cfg)
	if err != nil {
		return nil, err
	}
	v := &viewer{httpPeer: hp, streams: map[webrtc.RTPCodecType]*viewStream{}, sent: sent}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := v.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			v.stop(ctx)
			return nil, err
		}
	}
	v.pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		s := &viewStream{rx: &RTPReceiver{Video: tr.Kind() == webrtc.RTPCodecTypeVideo}, ssrc: uint32(tr.SSRC())}
		if v.sent != nil && tr.Kind() == webrtc.RTPCodecTypeAudio {
			s.rx.onPacket = v.match
		}
		v.mu.Lock()
		if _, dup := v.streams[tr.Kind()]; dup {
			v.mu.Unlock()
			return // one stream per kind is measured
		}
		v.streams[tr.Kind()] = s
		v.mu.Unlock()
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			for {
				if _, _, err := r.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		s.rx.Read(tr)
	})
	if err := v.establish(ctx); err != nil {
		_ = v.stop(ctx)
		return nil, err
	}
	return v, nil
}

func (v *viewer) match(payload []byte, at time.Time) {
	if sent, ok := v.sent.sentAt(payload, at); ok {
		v.mu.Lock()
		v.delays = append(v.delays, at.Sub(sent))
		v.mu.Unlock()
	}
}

func (v *viewer) stop(ctx context.Context) error {
	err := v.close(ctx)
	v.wg.Wait()
	return err
}

// ViewerStats is what one viewer received.
type ViewerStats struct {
	// FirstFrame is from the POST to the first complete video frame (the
	// first audio packet when no video came); zero when nothing came.
	FirstFrame time.Duration
	Packets    uint64
	LossPct    float64
	JitterMs   float64
	FPS        float64
	// BitrateKbps is over the time media flowed.
	BitrateKbps float64
	Video       bool
}

// stats reads what the viewer received up to now.
func (v *viewer) stats(now time.Time) ViewerStats {
	v.mu.Lock()
	streams := map[webrtc.RTPCodecType]*viewStream{}
	for k, s := range v.streams {
		streams[k] = s
	}
	v.mu.Unlock()
	var (
		out          ViewerStats
		received     uint64
		lost         int64
		bytes        uint64
		firstPacket  time.Time
		lastPacket   time.Time
		audioJitter  float64
		haveAudioJit bool
	)
	for kind, s := range streams {
		in := v.inbound(s.ssrc)
		received += in.PacketsReceived
		lost += max(0, in.PacketsLost)
		bytes += in.BytesReceived
		s.rx.mu.Lock()
		first, last, firstFrame, lastFrame, frames, jitter := s.rx.first, s.rx.last, s.rx.firstFrame, s.rx.lastFrame, s.rx.frames, s.rx.jitter
		s.rx.mu.Unlock()
		if !first.IsZero() && (firstPacket.IsZero() || first.Before(firstPacket)) {
			firstPacket = first
		}
		if last.After(lastPacket) {
			lastPacket = last
		}
		switch kind {
		case webrtc.RTPCodecTypeVideo:
			if !firstFrame.IsZero() {
				out.Video = true
				out.FirstFrame = firstFrame.Sub(v.start)
				out.FPS = frameRate(frames, firstFrame, lastFrame)
			}
		case webrtc.RTPCodecTypeAudio:
			audioJitter, haveAudioJit = jitter*1000, true
		}
	}
	if !out.Video && !firstPacket.IsZero() {
		out.FirstFrame = firstPacket.Sub(v.start)
	}
	out.Packets = received
	out.LossPct = lossPct(received, lost)
	if haveAudioJit {
		out.JitterMs = round3(audioJitter)
	}
	// Over the time media flowed, first packet to last: a viewer read
	// after the publisher stopped (the drain wait) would otherwise count
	// the silence since.
	span := lastPacket.Sub(firstPacket)
	if span <= 0 && !firstPacket.IsZero() {
		span = now.Sub(firstPacket)
	}
	if span > 0 {
		out.BitrateKbps = round3(float64(bytes) * 8 / span.Seconds() / 1000)
	}
	return out
}

// frameRate is the frames per second of frames that ended from first to
// last: frames-1 intervals in that span; 0 below two frames.
func frameRate(frames int, first, last time.Time) float64 {
	span := last.Sub(first)
	if frames < 2 || span <= 0 {
		return 0
	}
	return round3(float64(frames-1) / span.Seconds())
}

// errNoMedia: connected, but nothing arrived from the server.
var errNoMedia = errors.New("connected, but no media arrived from the server")

// recordViewer writes one viewer's figures.
func recordViewer(m *Measurement, s ViewerStats) error {
	if s.Packets == 0 {
		return errNoMedia
	}
	m.SetMetric("first_frame_ms", ms(s.FirstFrame))
	m.SetMetric("packets_received", float64(s.Packets))
	m.SetMetric("loss_pct", s.LossPct)
	m.SetMetric("jitter_ms", s.JitterMs)
	m.SetMetric("bitrate_kbps", s.BitrateKbps)
	if s.Video {
		m.SetMetric("fps", s.FPS)
	} else {
		m.AddEvidence("video", "no video frame arrived")
	}
	return nil
}

// drainWait is how long viewers wait after the publisher stops for
// packets still in flight through the server.
const drainWait = 300 * time.Millisecond

// sleepCtx waits d or until ctx ends; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// mediaTime fits a sample of d into ctx's deadline, keeping reserve for
// the rest; false when less than 500 ms would be left.
func mediaTime(ctx context.Context, d, reserve time.Duration) (time.Duration, bool) {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - reserve; left < d {
			if left < 500*time.Millisecond {
				return 0, false
			}
			return left, true
		}
	}
	return d, true
}

func noTimeError(after time.Duration) error {
	return &ConnectError{Stage: StageMedia, Err: fmt.Errorf("no time left for a media sample before the deadline"), After: after}
}
