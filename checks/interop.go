package checks

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// The interop checks are where two WebRTC stacks meet: calls between two
// browsers, and the codec matrix, a call per codec between every pair of
// ends (each browser with rtcprobe's pion peer, and every two browsers),
// judged per direction. They are opt-in: only `--checks interop` (or a
// profile or config naming them) runs them, never the default run or "*".

// CallSubject is what an interop run is between: its subject's Browser
// offers, Peer answers (nil: rtcprobe's pion peer); a codec cell names the
// codec and whether it is the answering end's direction.
type CallSubject struct {
	Peer  *browser.Session
	Codec *browser.Codec
	// Back is the direction from the answering end to the offering one.
	Back bool
}

// interopTimeout covers the wait for a call slot and the browsers' start.
const interopTimeout = 45 * time.Second

// CallSlots is how many interop calls run at once: each encodes and
// decodes in real time, two browsers' worth at most, so two per core
// (measured on two cores: the matrix of two browsers took 53 s with two
// at once, 46 s with four).
func CallSlots() int { return 2 * runtime.NumCPU() }

// codecCallDuration is how long media flows in each codec call.
const codecCallDuration = 2 * time.Second

var interopCallThresholds = []Threshold{
	MustThreshold(Fail, "offerer_frames_decoded >= 1", "the offering browser decoded no video from the other"),
	MustThreshold(Fail, "answerer_frames_decoded >= 1", "the answering browser decoded no video from the other"),
	MustThreshold(Fail, "offerer_audio_packets >= 1", "no audio reached the offering browser"),
	MustThreshold(Fail, "answerer_audio_packets >= 1", "no audio reached the answering browser"),
	MustThreshold(Fail, "dc_lost == 0", "data channels are reliable and ordered by default (RFC 8831): none may be lost"),
	MustThreshold(Fail, "relayed == 1", "relay-only call did not go through the TURN server"),
	MustThreshold(Warn, "connected_ms < 3000", "a call between two browsers here connects in 1-2 s, the answering one opening its camera first"),
}

var interopCodecThresholds = []Threshold{
	// At a browser: decoded video, of the size sent; audio played out.
	MustThreshold(Fail, "frames_decoded >= 1", "the receiver decoded nothing of what arrived: a decode failure"),
	MustThreshold(Fail, "keyframes_decoded >= 1", "no keyframe decoded: the receiver cannot start the picture"),
	MustThreshold(Fail, "decoded_pct >= 50", "most frames that arrived were not decoded"),
	MustThreshold(Warn, "decoded_pct >= 90", "some frames that arrived were not decoded"),
	MustThreshold(Fail, "size_match == 1", "the receiver decoded another size than was sent"),
	MustThreshold(Fail, "samples >= 1", "the receiver played out no audio sample"),
	MustThreshold(Warn, "concealed_pct < 5", "audible concealment: the receiver made up audio it did not get or could not decode"),
	MustThreshold(Fail, "concealed_pct < 30", "the receiver made up much of the audio"),
	MustThreshold(Warn, "packets_lost == 0", "packets are lost on loopback: the machine is overloaded"),
	// At pion, which decodes nothing: the RTP payload format itself.
	MustThreshold(Fail, "frames >= 1", "no complete frame arrived at pion"),
	MustThreshold(Fail, "keyframes >= 1", "no complete keyframe arrived at pion"),
	MustThreshold(Fail, "bad_payloads == 0", "payloads that do not follow the codec's RTP payload format"),
	MustThreshold(Fail, "timestamps_back == 0", "frames whose RTP timestamp did not move forward"),
	MustThreshold(Warn, "incomplete_frames == 0", "frames with a missing packet, start or end"),
	MustThreshold(Warn, "seq_gaps == 0", "missing sequence numbers"),
	MustThreshold(Fail, "clock_error_pct < 5", "RTP timestamps that do not advance at the codec's clock rate: receivers play it too fast or too slow"),
	MustThreshold(Warn, "clock_error_pct < 2", "RTP timestamps drift from the codec's clock rate"),
}

func interopChecks() []*Check {
	return []*Check{
		{
			ID: "interop.call", Title: "Browser ↔ browser call",
			Description: "A real call between two browsers of the run ({option:browsers=chromium,firefox}), signaled through rtcprobe: camera and microphone both ways, data channel echo; once with all candidates and once relay-only per TURN server and transport.",
			Metrics: []string{"connected_ms", "gathered_ms", "answered_ms", "offerer_frames_decoded", "answerer_frames_decoded", "offerer_audio_packets", "answerer_audio_packets",
				"dc_rtt_median_ms", "dc_lost", "relayed", "dc_sent"},
			Sometimes: map[string]string{"relayed": "relay-only calls"},
			Timeout:   interopTimeout, TimeoutFor: interopTimeoutFor, Thresholds: interopCallThresholds, Subjects: interopCallSubjects,
			Needs: "two browsers ({option:browsers=chromium,firefox})", OptIn: true,
			// Alone, after the codec matrix: its connection time is judged,
			// and calls at once on a small machine would measure each other.
			Exclusive: true,
			Run:       interopRun(peerCall),
			Advice:    interopAdvice,
		},
		{
			ID: "interop.codec", Title: "Codec interop",
			Description: "The codec matrix: a call per codec (VP8, VP9, H.264 constrained baseline, AV1, Opus, PCMU, PCMA, G.722) between each browser and pion and between every two browsers, negotiating that codec alone, judged per direction at the receiver (a browser's decoded frames and concealment; at pion, which decodes nothing, payload descriptors, complete frames, keyframes, sequence and timestamp continuity, the clock rate). A codec one end does not send or receive is not negotiated: skipped.",
			Metrics: []string{"frames_decoded", "frames", "samples", "packets", "keyframes_decoded", "keyframes", "decoded_pct", "size_match",
				"concealed_pct", "clock_error_pct", "clock_rate_hz", "bad_payloads", "incomplete_frames", "seq_gaps", "timestamps_back",
				"packets_lost", "width", "height", "pli_count"},
			Timeout: interopTimeout, TimeoutFor: interopTimeoutFor, Thresholds: interopCodecThresholds, Subjects: interopCodecSubjects,
			Needs: "a browser", OptIn: true,
			Run:    interopRun(codecCell),
			Advice: interopAdvice,
		},
	}
}

// interopTimeoutFor is interopTimeout, with Firefox's slower start.
func interopTimeoutFor(p *Plan) time.Duration {
	return interopTimeout + browserTimeoutFor(p) - browserTimeout
}

// interopRun starts (or reuses) both ends' browsers and measures.
func interopRun(measure func(ctx context.Context, a, b *browser.Browser, s Subject, p *Plan) probes.Measurement) func(context.Context, Subject, *Plan) probes.Measurement {
	return browserRun(func(ctx context.Context, a *browser.Browser, s Subject, p *Plan) probes.Measurement {
		var b *browser.Browser
		if s.Call != nil && s.Call.Peer != nil {
			var err error
			if b, err = s.Call.Peer.Get(ctx); err != nil {
				if browser.IsNotFound(err) && !p.Settings.RequireBrowser {
					err = fmt.Errorf("%w: %w", probes.ErrUnsupported, err)
				}
				return probes.Failed(err)
			}
		}
		return measure(ctx, a, b, s, p)
	})
}

func peerCall(ctx context.Context, a, b *browser.Browser, s Subject, p *Plan) probes.Measurement {
	if err := browserTrustsTarget(s, p); err != nil {
		return probes.Failed(err)
	}
	if err := browserTrustsTarget(Subject{Target: s.Target, Browser: s.Call.Peer}, p); err != nil {
		return probes.Failed(err)
	}
	cfg := browser.InteropConfig{}
	if s.Target.Server.IsTURN() {
		t := s.Target
		cfg.Relay = &t
	}
	v, ok := p.Memo.Run(ctx, func(ctx context.Context) any { return browser.PeerCall(ctx, a, b, cfg) })
	if !ok {
		return probes.Failed(&browser.StepTimeoutError{Stage: "waiting for a call slot", After: interopTimeout})
	}
	return v.(probes.Measurement)
}

// codecCell is one direction of a codec call; the call is made once for
// both directions.
func codecCell(ctx context.Context, a, b *browser.Browser, s Subject, p *Plan) probes.Measurement {
	peer := "pion"
	if s.Call.Peer != nil {
		peer = s.Call.Peer.Label()
	}
	key := s.Browser.Label() + "\x00" + peer + "\x00" + s.Call.Codec.MimeType
	v, ok := p.Memo.Do(ctx, key, func(ctx context.Context) any {
		return browser.CodecCall(ctx, a, b, *s.Call.Codec, browser.CodecCallConfig{Duration: codecCallDuration})
	})
	if !ok {
		return probes.Failed(&browser.StepTimeoutError{Stage: "the " + s.Call.Codec.Name + " call", After: interopTimeout})
	}
	res := v.(browser.CodecCallResult)
	if s.Call.Back {
		return res.Flows[1]
	}
	return res.Flows[0]
}

// pairs are the ends that call each other: each browser with pion (nil),
// and every two browsers, in the run's order.
func pairs(p *Plan) [][2]*browser.Session {
	var out [][2]*browser.Session
	for _, b := range p.Browsers {
		out = append(out, [2]*browser.Session{b, nil})
	}
	for i, a := range p.Browsers {
		for _, b := range p.Browsers[i+1:] {
			out = append(out, [2]*browser.Session{a, b})
		}
	}
	return out
}

// interopCallSubjects: each two browsers, with all candidates and
// relay-only per TURN server and transport.
func interopCallSubjects(p *Plan) []Subject {
	var out []Subject
	for _, pair := range pairs(p) {
		if pair[1] == nil {
			continue
		}
		for _, s := range browserCallSubjects(p) {
			s.Browser, s.Call = pair[0], &CallSubject{Peer: pair[1]}
			s.Name = joinName(pair[0].Label()+" ↔ "+pair[1].Label(), s.Name)
			out = append(out, s)
		}
	}
	return out
}

// interopCodecSubjects: per pair, per codec, each direction.
func interopCodecSubjects(p *Plan) []Subject {
	var out []Subject
	for _, pair := range pairs(p) {
		a, b := pair[0].Label(), "pion"
		if pair[1] != nil {
			b = pair[1].Label()
		}
		for i := range browser.MatrixCodecs {
			c := &browser.MatrixCodecs[i]
			for _, back := range []bool{false, true} {
				from, to := a, b
				if back {
					from, to = b, a
				}
				out = append(out, Subject{Name: c.Name + " · " + from + " → " + to, Browser: pair[0],
					Call: &CallSubject{Peer: pair[1], Codec: c, Back: back}})
			}
		}
	}
	return out
}

// interopAdvice explains a broken cell or call.
func interopAdvice(r Result, m probes.Measurement) string {
	if m.Err != nil {
		return browserAdvice(r, m)
	}
	broken := r.Broke
	switch {
	case broken("frames_decoded"), broken("keyframes_decoded"), broken("decoded_pct"):
		return "The receiver could not decode what the sender encoded: the two implementations disagree on the codec (profile, packetization, bitstream); compare the encoder and decoder in the evidence."
	case broken("bad_payloads"), broken("frames"), broken("keyframes"), broken("timestamps_back"):
		return "The sender's RTP does not follow the codec's payload format (RFC 7741 VP8, RFC 9628 VP9, RFC 6184 H.264, AV1 RTP specification): other receivers will drop its frames."
	case broken("clock_error_pct"):
		return "The sender's audio timestamps run at another rate than the codec's clock: receivers stretch, squeeze or drop its audio."
	case broken("size_match"):
		return "The receiver decoded a different size than was sent: the sender scaled down (CPU or bandwidth) or the stream is damaged."
	case broken("relayed"):
		return "The relay-only call did not use the TURN server: check that the server relays to loopback peers (coturn: --allow-loopback-peers)."
	case broken("dc_lost"):
		return "Data channel messages were lost between the browsers: SCTP over DTLS is being disrupted."
	case broken("concealed_pct"), broken("packets_lost"), broken("incomplete_frames"), broken("seq_gaps"):
		return "Media was lost or late on loopback: the machine is overloaded; run fewer checks at once ({option:concurrency})."
	}
	return ""
}
