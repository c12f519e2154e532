package checks

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// defaultMediaDuration is how long the media checks send without
// --media-duration.
const defaultMediaDuration = 5 * time.Second

// Thresholds for media over a call. Loss and jitter limits follow common
// VoIP practice (ITU-T Y.1541 class 0/1 allows 1e-3 loss and 50 ms jitter;
// Opus and VP8 conceal up to a few percent); RTT and MOS follow ITU-T
// G.114 and G.107.
var (
	lossThresholds = []Threshold{
		MustThreshold(Warn, "loss_pct < 1", "above 1 % loss, concealment starts to be audible and video needs retransmissions"),
		MustThreshold(Fail, "loss_pct < 5", "above 5 % loss, speech and video break up (G.113: quality falls steeply)"),
	}
	jitterThresholds = []Threshold{
		MustThreshold(Warn, "jitter_ms < 30", "a jitter buffer deep enough for 30 ms jitter adds noticeable delay"),
		MustThreshold(Fail, "jitter_ms < 50", "ITU-T Y.1541: 50 ms is the jitter bound for interactive classes"),
	}
	rttThresholds = []Threshold{
		MustThreshold(Warn, "rtt_ms < 300", "ITU-T G.114: 150 ms one-way (300 ms round trip) is the comfort limit"),
		MustThreshold(Fail, "rtt_ms < 800", "ITU-T G.114: beyond 400 ms one-way, conversation breaks down"),
	}
	audioThresholds = concat(lossThresholds, jitterThresholds, rttThresholds, []Threshold{
		MustThreshold(Warn, "mos >= 3.6", "ITU-T G.107 Annex B: below R 70 (MOS 3.6) some users are dissatisfied"),
		MustThreshold(Fail, "mos >= 3.1", "ITU-T G.107 Annex B: below R 60 (MOS 3.1) many users are dissatisfied"),
	})
	videoThresholds = concat(lossThresholds, jitterThresholds, rttThresholds, []Threshold{
		MustThreshold(Warn, "fps >= 20", "the clip runs at 30 fps; below 20 motion looks jerky"),
		MustThreshold(Fail, "fps >= 10", "below 10 fps video is a slide show"),
	})
)

func concat(lists ...[]Threshold) []Threshold {
	var out []Threshold
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func mediaDuration(p *Plan) time.Duration {
	if p.Settings.MediaDuration > 0 {
		return p.Settings.MediaDuration
	}
	return defaultMediaDuration
}

func mediaChecks() []*Check {
	mk := func(kind webrtc.RTPCodecType, title, what string, metrics []string, thresholds []Threshold) *Check {
		id := "media." + kind.String()
		return &Check{
			ID:          id,
			Title:       title,
			Description: "Sends " + what + " between two in-process WebRTC peers at real-time pace for the media duration and reports what the receiver got: loss, jitter, RTCP RTT, bitrate" + map[bool]string{true: ", fps, NACK/PLI.", false: " and an ITU-T G.107 E-model MOS."}[kind == webrtc.RTPCodecTypeVideo],
			Metrics:     metricList(metrics, iceMetrics), // the call's set-up too
			// Connecting, the sample itself, and the drain at the end.
			TimeoutFor: func(p *Plan) time.Duration { return mediaDuration(p) + 10*time.Second },
			Takes:      defaultMediaDuration,
			Thresholds: thresholds,
			Subjects:   callSubjects,
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return withPair(p, id, nil, func(cfg probes.PairConfig) probes.Measurement {
					return probes.Media(ctx, probes.MediaConfig{Pair: cfg, Kind: kind, Duration: mediaDuration(p)})
				})
			},
			Advice: mediaAdvice,
			Needs:  callNeeds,
		}
	}
	return []*Check{
		mk(webrtc.RTPCodecTypeAudio, "Audio call quality (Opus)", "a real Opus clip",
			[]string{"mos", "loss_pct", "rtt_ms", "jitter_ms", "bitrate_kbps", "packets_sent", "packets_received", "rtcp_loss_pct", "r_factor", "mouth_to_ear_ms",
				"rtt_min_ms", "rtt_max_ms", "rtt_samples", "nack_count", "pli_count", "sample_ms"},
			audioThresholds),
		mk(webrtc.RTPCodecTypeVideo, "Video call quality (VP8)", "a real VP8 clip",
			[]string{"fps", "loss_pct", "rtt_ms", "jitter_ms", "bitrate_kbps", "packets_sent", "packets_received", "rtcp_loss_pct", "nack_count", "pli_count",
				"rtt_min_ms", "rtt_max_ms", "rtt_samples", "sample_ms"},
			videoThresholds),
	}
}

// callSubjects is the one subject of a call between the two peers: the
// simulated network, or the plan's STUN/TURN servers.
func callSubjects(p *Plan) []Subject {
	if p.Settings.Simulate != nil {
		return []Subject{{Name: "simulated " + p.Settings.Simulate.String()}}
	}
	if len(iceServers(p.Servers)) == 0 {
		return nil
	}
	return []Subject{{Name: serverList(p.Servers)}}
}

func mediaAdvice(r Result, m probes.Measurement) string {
	if m.Err != nil {
		return iceAdvice(r, m)
	}
	switch {
	case m.Metrics["loss_pct"] >= 1:
		return "Packets are lost between the peers: look for a congested or wireless link, or a rate limiter; TURN over TCP hides loss behind retransmission delay."
	case m.Metrics["jitter_ms"] >= 30:
		return "Packets arrive unevenly: a congested link or bufferbloat on the path (try queue management such as fq_codel on the router)."
	case m.Metrics["rtt_ms"] >= 300:
		return "The path is long: use a TURN server close to the users, or check that traffic does not detour through a distant relay or VPN."
	}
	return "The call quality is reduced by the combination of delay, jitter and loss above."
}
