package probes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/media"
)

// MediaConfig sets up a media probe.
type MediaConfig struct {
	Pair PairConfig
	// Kind is webrtc.RTPCodecTypeAudio (Opus) or RTPCodecTypeVideo (VP8).
	Kind webrtc.RTPCodecType
	// Duration is how long media is sent (default 5s).
	Duration time.Duration
}

// Media connects two in-process peers, sends the embedded clip from the
// offerer at real-time pace for cfg.Duration and measures what the
// answerer receives. Metrics: packets_sent, packets_received, loss_pct
// (receiver's count of missing sequence numbers), rtcp_loss_pct (what the
// receiver reported over RTCP), jitter_ms (RFC 3550), rtt_ms (mean RTCP
// SR/RR round trip), bitrate_kbps (received), fps (video), nack_count,
// pli_count, mos and r_factor (audio, ITU-T G.107), plus the connection
// metrics of ICE. Series: the same, sampled every second.
func Media(ctx context.Context, cfg MediaConfig) Measurement {
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
	}
	clip, err := media.Audio()
	if cfg.Kind == webrtc.RTPCodecTypeVideo {
		clip, err = media.Video()
	}
	if err != nil {
		return Failed(err)
	}
	p, err := NewPair(cfg.Pair)
	if err != nil {
		return Failed(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after Close (deferred below) has ended the readers
	defer p.Close()

	track, err := webrtc.NewTrackLocalStaticSample(clip.Capability(), cfg.Kind.String(), "rtcprobe")
	if err != nil {
		return Failed(fmt.Errorf("media track: %w", err))
	}
	sender, err := p.Offer.AddTrack(track)
	if err != nil {
		return Failed(fmt.Errorf("media track: %w", err))
	}
	// RTCP must be read for the interceptors (reports, NACK, stats) to
	// see it; the receiver reports also give the RTT samples.
	var rtts rttSamples
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			rtts.add(time.Now(), pkts)
		}
	}()
	rx := RTPReceiver{Video: cfg.Kind == webrtc.RTPCodecTypeVideo}
	p.Answer.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := r.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		defer wg.Done()
		rx.Read(tr)
	})

	var m Measurement
	if err := p.connectRecorded(ctx, &m); err != nil {
		return m
	}
	// Fit the sample into the deadline (--check-timeout may be shorter
	// than --media-duration), keeping a second for the drain and report.
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline) - time.Second; left < cfg.Duration {
			if left < 500*time.Millisecond {
				m.Err = &ConnectError{Stage: StageMedia, Err: errors.New("no time left for a media sample before the deadline"), After: p.Timings.Total}
				return m
			}
			m.AddEvidence("sample", fmt.Sprintf("shortened to %s to fit the deadline", left.Round(100*time.Millisecond)))
			cfg.Duration = left
		}
	}
	m.SetMetric("sample_ms", ms(cfg.Duration))
	ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
	m.AddEvidence("codec", fmt.Sprintf("%s %d Hz", clip.MimeType, clip.ClockRate))

	playCtx, stopPlay := context.WithCancel(ctx)
	defer stopPlay()
	played := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := clip.Play(playCtx, track, cfg.Duration)
		played <- err
	}()
	broken := p.Broken()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prev sampleState
	for done := false; !done; {
		select {
		case err := <-played:
			if err != nil {
				m.Err = &ConnectError{Stage: StageMedia, Err: fmt.Errorf("sending stopped: %w", err), After: time.Since(start)}
				return m
			}
			done = true
		case <-tick.C:
			prev = p.sample(&m, ssrc, &rx, prev)
		case <-broken:
			stopPlay()
			<-played
			m.Err = &ConnectError{Stage: StageMedia, Err: errors.New("the connection dropped while media was flowing"), After: time.Since(start)}
			return m
		case <-ctx.Done():
			stopPlay()
			<-played
			m.Err = &ConnectError{Stage: StageMedia, Err: fmt.Errorf("sample stopped after %s of %s: %w", time.Since(start).Round(100*time.Millisecond), cfg.Duration, context.Cause(ctx)), After: time.Since(start)}
			return m
		}
	}
	sendTime := time.Since(start)
	p.drain(ctx, ssrc)
	p.sample(&m, ssrc, &rx, prev)
	p.recordMedia(&m, ssrc, &rx, &rtts, sendTime, cfg.Kind)
	return m
}

// minRateInterval is the shortest interval a per-second rate is
// computed over.
const minRateInterval = 500 * time.Millisecond

// sampleState carries the previous sample's counters, for per-second rates.
type sampleState struct {
	at     time.Time
	bytes  uint64
	frames int
}

// streamStats are the sender's and the receiver's view of one stream.
func (p *Pair) streamStats(ssrc uint32) (out, in *stats.Stats) {
	out, in = p.rtp[0].Get(ssrc), p.rtp[1].Get(ssrc)
	if out == nil {
		out = &stats.Stats{}
	}
	if in == nil {
		in = &stats.Stats{}
	}
	return out, in
}

// sample appends one point to m's series (and the --stats log) from the
// same statistics the final metrics come from.
func (p *Pair) sample(m *Measurement, ssrc uint32, rx *RTPReceiver, prev sampleState) sampleState {
	p.snapshot(p.cfg.Stats, p.cfg.StatsLabel, ssrc)
	now := time.Now()
	out, in := p.streamStats(ssrc)
	_, frames := rx.Counts()
	s := Sample{At: now, Metrics: map[string]float64{
		"packets_sent":     float64(out.OutboundRTPStreamStats.PacketsSent),
		"packets_received": float64(in.InboundRTPStreamStats.PacketsReceived),
		"loss_pct":         lossPct(in.InboundRTPStreamStats.PacketsReceived, in.InboundRTPStreamStats.PacketsLost),
		"jitter_ms":        rx.JitterMs(),
	}}
	if rtt := out.RemoteInboundRTPStreamStats.RoundTripTime; rtt > 0 {
		s.Metrics["rtt_ms"] = ms(rtt)
	}
	if rtt, ok := p.ICERTT(); ok {
		s.Metrics["ice_rtt_ms"] = ms(rtt)
	}
	// Rates need a real interval: the last sample can come a few
	// milliseconds after the previous tick, where a frame or two would
	// read as a burst of 80 fps.
	if secs := now.Sub(prev.at).Seconds(); !prev.at.IsZero() && secs >= minRateInterval.Seconds() {
		s.Metrics["bitrate_kbps"] = round3(float64(in.InboundRTPStreamStats.BytesReceived-prev.bytes) * 8 / secs / 1000)
		if rx.Video {
			s.Metrics["fps"] = round3(float64(frames-prev.frames) / secs)
		}
	}
	m.Series = append(m.Series, s)
	return sampleState{at: now, bytes: in.InboundRTPStreamStats.BytesReceived, frames: frames}
}

// drain waits, briefly, for packets still in flight when sending stopped,
// so they are not counted as lost.
func (p *Pair) drain(ctx context.Context, ssrc uint32) {
	// In flight at most one path delay (half the RTT) plus scheduling; the
	// floor covers streams whose RTT is not known yet and a busy machine,
	// where the receiver's read loop ran 200 ms behind. It is only waited
	// out in full when packets are really missing.
	out, _ := p.streamStats(ssrc)
	wait := max(500*time.Millisecond, out.RemoteInboundRTPStreamStats.RoundTripTime)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		out, in := p.streamStats(ssrc)
		if in.InboundRTPStreamStats.PacketsReceived+uint64(max(0, in.InboundRTPStreamStats.PacketsLost)) >= out.OutboundRTPStreamStats.PacketsSent {
			return
		}
		select {
		case <-poll.C:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// recordMedia writes the final metrics of one stream.
func (p *Pair) recordMedia(m *Measurement, ssrc uint32, rx *RTPReceiver, rtts *rttSamples, sendTime time.Duration, kind webrtc.RTPCodecType) {
	out, in := p.streamStats(ssrc)
	recv := in.InboundRTPStreamStats
	m.SetMetric("packets_sent", float64(out.OutboundRTPStreamStats.PacketsSent))
	m.SetMetric("packets_received", float64(recv.PacketsReceived))
	m.SetMetric("loss_pct", lossPct(recv.PacketsReceived, recv.PacketsLost))
	// Jitter is computed here rather than taken from pion's stats
	// interceptor, whose estimator differences consecutive transit deltas
	// (a second difference) instead of transit times as RFC 3550 does.
	m.SetMetric("jitter_ms", rx.JitterMs())
	m.SetMetric("nack_count", float64(recv.NACKCount))
	m.SetMetric("pli_count", float64(recv.PLICount))
	m.SetMetric("bitrate_kbps", round3(float64(recv.BytesReceived)*8/sendTime.Seconds()/1000))
	ri := out.RemoteInboundRTPStreamStats
	if sent := out.OutboundRTPStreamStats.PacketsSent; sent > 0 && ri.PacketsLost >= 0 {
		m.SetMetric("rtcp_loss_pct", round3(float64(ri.PacketsLost)/float64(sent)*100))
	}
	var rtt time.Duration
	samples := rtts.get()
	if len(samples) > 0 {
		// The median: one late wake-up on a busy machine must not move it.
		rtt = time.Duration(samples.Median() * float64(time.Millisecond))
		m.SetMetric("rtt_ms", round3(samples.Median()))
		m.SetMetric("rtt_min_ms", samples.Percentile(0))
		m.SetMetric("rtt_max_ms", samples.Percentile(100))
		m.SetMetric("rtt_samples", float64(len(samples)))
	} else {
		m.AddEvidence("rtt", "no RTCP receiver report with a round trip arrived")
	}
	// ICE keepalives during the sample give several ICE RTTs; as for
	// RTCP, the median resists a late wake-up.
	var ice Durations
	for _, s := range m.Series {
		if v, ok := s.Metrics["ice_rtt_ms"]; ok {
			ice = append(ice, time.Duration(v*float64(time.Millisecond)))
		}
	}
	if len(ice) > 0 {
		m.SetMetric("ice_rtt_ms", round3(ice.Median()))
	}
	_, frames := rx.Counts()
	if kind == webrtc.RTPCodecTypeVideo {
		m.SetMetric("fps", round3(float64(frames)/sendTime.Seconds()))
	}
	if kind == webrtc.RTPCodecTypeAudio && len(samples) > 0 {
		jitter := time.Duration(m.Metrics["jitter_ms"] * float64(time.Millisecond))
		ta := MouthToEar(rtt, jitter, CodecOpus)
		r := RFactor(ta, m.Metrics["loss_pct"], CodecOpus)
		m.SetMetric("mouth_to_ear_ms", round3(ta))
		m.SetMetric("r_factor", round3(r))
		m.SetMetric("mos", round3(MOSFromR(r)))
	}
}

// lossPct is lost / expected in percent; duplicates (lost < 0) count as
// none lost.
func lossPct(received uint64, lost int64) float64 {
	lost = max(0, lost)
	expected := received + uint64(lost)
	if expected == 0 {
		return 0
	}
	return round3(float64(lost) / float64(expected) * 100)
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// rttSamples are round trips computed from RTCP receiver reports as in
// RFC 3550 §6.4.1: arrival time - LSR - DLSR, all in compact NTP units of
// 1/65536 s.
type rttSamples struct {
	mu sync.Mutex
	d  Durations
	// reports counts the report blocks received, with or without a
	// round trip.
	reports int
}

func (r *rttSamples) add(at time.Time, pkts []rtcp.Packet) {
	arrival := compactNTP(at)
	for _, pkt := range pkts {
		rr, ok := pkt.(*rtcp.ReceiverReport)
		if !ok {
			continue
		}
		for _, rep := range rr.Reports {
			r.mu.Lock()
			r.reports++
			r.mu.Unlock()
			if rep.LastSenderReport == 0 {
				continue // no sender report received yet
			}
			units := arrival - rep.LastSenderReport - rep.Delay
			if int32(units) < 0 {
				continue // clock steps or a corrupt report
			}
			r.mu.Lock()
			r.d = append(r.d, time.Duration(float64(units)/65536*float64(time.Second)))
			r.mu.Unlock()
		}
	}
}

// count is the number of report blocks received.
func (r *rttSamples) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reports
}

func (r *rttSamples) get() Durations {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.d)
}

// compactNTP is the middle 32 bits of the 64-bit NTP timestamp of t.
func compactNTP(t time.Time) uint32 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32(secs<<16 | frac>>16)
}
