package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Thresholds for media through a media server. Loss and jitter follow the
// call checks; first-frame time and delay follow what live streaming over
// WebRTC is chosen for: sub-second start and latency.
var (
	firstFrameThresholds = []Threshold{
		MustThreshold(Warn, "first_frame_ms < 2000", "viewers notice a start that takes over 2 s; WebRTC playback usually starts within 1 s"),
		MustThreshold(Fail, "first_frame_ms < 5000", "after 5 s without a picture viewers give up"),
	}
	// A server that breaks the session's protocol around a call that works
	// warns: the media flowed, but clients that rely on those steps fail.
	sessionThresholds = []Threshold{
		MustThreshold(Warn, "trickle_failed < 1", "the server did not take the trickled candidates (RFC 9725 §4.3.1: 2xx, or 405/501 without trickle ICE); the call worked on its connectivity checks alone"),
		MustThreshold(Warn, "delete_failed < 1", "the server did not end the session on DELETE (RFC 9725 §4.3 wants 200 OK): it keeps it, and its resources, until it times out"),
	}
	publishThresholds = concat(sessionThresholds, rttThresholds, []Threshold{
		MustThreshold(Warn, "rtcp_loss_pct < 1", "the server reports over 1 % of the publisher's packets lost: every viewer gets the damage"),
		MustThreshold(Fail, "rtcp_loss_pct < 5", "above 5 % loss on the ingest, the stream breaks up for everyone"),
		MustThreshold(Warn, "post_ms < 2000", "a WHIP answer that takes over 2 s delays every publish"),
	})
	playThresholds = concat(sessionThresholds, lossThresholds, jitterThresholds, firstFrameThresholds, []Threshold{
		MustThreshold(Warn, "fps >= 20", "the clip runs at 30 fps; below 20 motion looks jerky"),
		MustThreshold(Fail, "fps >= 10", "below 10 fps video is a slide show"),
	})
	loopbackThresholds = concat(playThresholds, []Threshold{
		MustThreshold(Warn, "delay_ms < 400", "WebRTC streaming is chosen for sub-second latency; over 400 ms publisher to viewer is noticeable in interactive use"),
		MustThreshold(Fail, "delay_ms < 1000", "over a second from publisher to viewer is no better than low-latency HLS"),
	})
	broadcastThresholds = []Threshold{
		MustThreshold(Warn, "loss_p95_pct < 1", "one viewer in twenty losing over 1 % hears and sees concealment"),
		MustThreshold(Fail, "loss_p95_pct < 5", "one viewer in twenty losing over 5 %: the stream breaks up for them"),
		MustThreshold(Warn, "jitter_p95_ms < 30", "a jitter buffer deep enough for 30 ms jitter adds noticeable delay"),
		MustThreshold(Warn, "first_frame_p95_ms < 2000", "viewers notice a start that takes over 2 s"),
		MustThreshold(Fail, "first_frame_p95_ms < 5000", "after 5 s without a picture viewers give up"),
		MustThreshold(Warn, "fps_p5 >= 20", "the clip runs at 30 fps; below 20 motion looks jerky"),
		MustThreshold(Fail, "fps_p5 >= 10", "below 10 fps video is a slide show"),
	}
)

// When the media server checks report some of their metrics.
const (
	serverRTT = "when the server's receiver reports give a round trip"
	withWHIP  = "when a WHIP URL is given"
)

func mediaServerChecks() []*Check {
	timeout := func(p *Plan) time.Duration { return mediaDuration(p) + 20*time.Second }
	cfg := func(s Subject, p *Plan) probes.MediaServerConfig {
		return probes.MediaServerConfig{WHIP: s.WHIP, WHEP: s.WHEP, Duration: mediaDuration(p),
			HTTP: probes.HTTPConfig{TLS: p.TLS, Proxy: p.Settings.Proxy}}
	}
	return []*Check{
		{
			ID:    "whip.publish",
			Title: "WHIP publish",
			Description: "Publishes real clips to the WHIP endpoint (RFC 9725): POST an offer of the codecs rtcprobe has clips of (Opus, G.722, PCMU, PCMA; VP8, H.264, VP9, AV1) → " +
				"201 with Location (ETag and Link ICE servers used when given), trickle PATCH with If-Match (405/501: no trickle, not a failure), " +
				"the clips of the codecs the answer picked at real pace with loss and RTT from the server's RTCP, DELETE → 200.",
			Metrics:    []string{"rtcp_loss_pct", "rtt_ms", "post_ms", "connect_ms", "bitrate_kbps", "packets_sent", "trickle", "link_ice_servers", "rtt_max_ms", "trickle_failed", "delete_failed", "candidates_relay"},
			Sometimes:  map[string]string{"rtt_ms": serverRTT, "rtt_max_ms": serverRTT, "trickle_failed": "1 when the server refused the trickle PATCH", "delete_failed": "1 when the server did not end the session on DELETE"},
			TimeoutFor: timeout,
			Thresholds: publishThresholds,
			Serial:     mediaSerial,
			Subjects: func(p *Plan) []Subject {
				if p.WHIP == nil {
					return nil
				}
				return []Subject{{Name: p.WHIP.Name(), WHIP: *p.WHIP}}
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return probes.WHIPPublish(ctx, cfg(s, p))
			},
			Advice: mediaServerAdvice,
			Needs:  "a WHIP URL ({option:whip})",
		},
		{
			ID:    "whep.play",
			Title: "WHEP playback",
			Description: "Plays the WHEP endpoint (recvonly offer → 201) for the media duration — what rtcprobe publishes via WHIP when a WHIP URL is given, " +
				"else what the server has — and reports time to first frame, loss, jitter, fps and bitrate received.",
			Metrics: []string{"first_frame_ms", "loss_pct", "fps", "jitter_ms", "bitrate_kbps", "packets_received", "post_ms", "connect_ms", "trickle", "trickle_failed", "delete_failed",
				"link_ice_servers", "candidates_relay", "publish_packets_sent", "publish_bitrate_kbps", "publish_rtcp_loss_pct", "publish_rtt_ms"},
			Sometimes: map[string]string{
				"publish_packets_sent": withWHIP, "publish_bitrate_kbps": withWHIP, "publish_rtcp_loss_pct": withWHIP,
				"publish_rtt_ms": withWHIP + ", " + serverRTT, "trickle_failed": "1 when the server refused the trickle PATCH", "delete_failed": "1 when the server did not end the session on DELETE"},
			TimeoutFor: timeout,
			Thresholds: playThresholds,
			Serial:     mediaSerial,
			Subjects: func(p *Plan) []Subject {
				if p.WHEP == nil {
					return nil
				}
				s := Subject{Name: p.WHEP.Name(), WHEP: *p.WHEP}
				if p.WHIP != nil {
					s.WHIP = *p.WHIP
				}
				return []Subject{s}
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return probes.WHEPPlay(ctx, cfg(s, p))
			},
			Advice: mediaServerAdvice,
			Needs:  "a WHEP URL ({option:whep})",
		},
		{
			ID:    "whip.loopback",
			Title: "WHIP → WHEP through the server",
			Description: "Publishes via WHIP and plays the same stream back via WHEP: end-to-end delay through the server (each Opus frame's arrival " +
				"matched by payload to when it was sent) and loss through it.",
			Metrics: []string{"delay_ms", "loss_pct", "first_frame_ms", "delay_p95_ms", "delay_max_ms", "fps", "jitter_ms", "bitrate_kbps", "publish_rtt_ms", "publish_rtcp_loss_pct", "publish_bitrate_kbps", "trickle_failed", "delete_failed",
				"delay_samples", "packets_received", "publish_packets_sent", "post_ms", "connect_ms", "trickle", "link_ice_servers", "candidates_relay"},
			Sometimes:  map[string]string{"publish_rtt_ms": serverRTT, "trickle_failed": "1 when the server refused the trickle PATCH", "delete_failed": "1 when the server did not end the session on DELETE"},
			TimeoutFor: timeout,
			Thresholds: loopbackThresholds,
			Serial:     mediaSerial,
			Subjects: func(p *Plan) []Subject {
				if p.WHIP == nil || p.WHEP == nil {
					return nil
				}
				return []Subject{{Name: p.WHIP.Name() + " → " + p.WHEP.Name(), WHIP: *p.WHIP, WHEP: *p.WHEP}}
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return probes.WHIPLoopback(ctx, cfg(s, p))
			},
			Advice: mediaServerAdvice,
			Needs:  "both a WHIP and a WHEP URL",
		},
		{
			ID:    "broadcast.viewers",
			Title: "One-to-many broadcast",
			Takes: defaultMediaDuration,
			Description: "One publisher (WHIP) and many viewers (WHEP) at once (the viewers option, default 10): per-viewer first-frame time, loss, jitter, " +
				"fps and bitrate, summarised across viewers. With broadcast_ramp, rising viewer counts find where quality degrades past the thresholds " +
				"(viewers_held). Against the WHIP/WHEP URLs given, else the embedded fan-out server on loopback; with turn: servers named, " +
				"the fan-out relays every viewer through them, which tells how many viewers those TURN servers carry.",
			Metrics: []string{"loss_p95_pct", "first_frame_p95_ms", "fps_p5", "viewers_connected", "viewers", "viewers_held", "loss_p50_pct", "loss_max_pct",
				"jitter_p50_ms", "jitter_p95_ms", "jitter_max_ms", "first_frame_p50_ms", "first_frame_max_ms", "fps_p50", "fps_min",
				"bitrate_p50_kbps", "bitrate_p5_kbps", "bitrate_min_kbps", "viewers_silent", "publish_rtcp_loss_pct", "publish_rtt_ms",
				"publish_post_ms", "publish_connect_ms", "publish_link_ice_servers", "viewer_post_ms", "viewer_connect_ms", "viewer_link_ice_servers"},
			Sometimes:  map[string]string{"viewers_held": "with broadcast_ramp", "publish_rtt_ms": serverRTT},
			TimeoutFor: broadcastTimeout,
			Thresholds: broadcastThresholds,
			Serial:     mediaSerial,
			Subjects: func(p *Plan) []Subject {
				whip, whep := p.WHIP, p.WHEP
				if whip == nil && whep == nil {
					whip, whep = p.BroadcastWHIP, p.BroadcastWHEP
				}
				if whip == nil || whep == nil {
					return nil
				}
				name := fmt.Sprintf("%s (1 → %d viewers)", whep.Name(), viewers(p))
				switch {
				case whip == p.BroadcastWHIP && p.BroadcastVia != "":
					name = fmt.Sprintf("embedded fan-out relayed via %s (1 → %d viewers)", p.BroadcastVia, viewers(p))
				case whip == p.BroadcastWHIP:
					name = fmt.Sprintf("embedded fan-out (1 → %d viewers)", viewers(p))
				}
				return []Subject{{Name: name, WHIP: *whip, WHEP: *whep}}
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				thresholds := rampThresholds(p, "broadcast.viewers", broadcastThresholds)
				return probes.Broadcast(ctx, probes.BroadcastConfig{MediaServerConfig: cfg(s, p), Viewers: viewers(p),
					Ramp: p.Settings.BroadcastRamp, Held: func(m probes.Measurement) bool { return holds(thresholds, m) }})
			},
			Advice: mediaServerAdvice,
			Needs:  "both a WHIP and a WHEP URL, or none (the embedded fan-out server)",
		},
	}
}

// rampThresholds are the thresholds in force for check id (they judge
// each step of its ramp), or defaults when the plan lacks it.
func rampThresholds(p *Plan, id string, defaults []Threshold) []Threshold {
	for _, c := range p.Checks {
		if c.ID == id {
			return p.ThresholdsFor(c)
		}
	}
	return defaults
}

// holds reports whether m meets every threshold, warn level included.
func holds(ts []Threshold, m probes.Measurement) bool {
	for _, t := range ts {
		if v, ok := m.Metrics[t.Metric]; ok && !t.Holds(v) {
			return false
		}
	}
	return true
}

func viewers(p *Plan) int {
	if p.Settings.Viewers > 0 {
		return p.Settings.Viewers
	}
	return 10
}

// broadcastTimeout: each ramp step plays for the media duration after its
// viewers negotiate (in batches of 8).
func broadcastTimeout(p *Plan) time.Duration {
	steps := 1
	if p.Settings.BroadcastRamp {
		steps = len(probes.RampSteps(viewers(p)))
	}
	setup := time.Duration(viewers(p)/8+1) * 2 * time.Second
	return time.Duration(steps)*(mediaDuration(p)+setup) + 20*time.Second
}

// mediaSerial: checks on one media server's endpoint go one after
// another, since each publishes to the same stream.
func mediaSerial(s Subject) string {
	switch {
	case s.WHIP.URL != nil:
		return "media " + s.WHIP.URL.String()
	case s.WHEP.URL != nil:
		return "media " + s.WHEP.URL.String()
	}
	return ""
}

func mediaServerAdvice(r Result, m probes.Measurement) string {
	var (
		he *probes.HTTPSessionError
		ce *probes.ConnectError
		cm *probes.CodecMismatchError
	)
	switch {
	case errors.As(m.Err, &he) && errors.Is(he, probes.ErrUnauthorized):
		return fmt.Sprintf("The %s server refused the bearer token: give the right one ({option:whip_token}); tokens are often per stream.", he.Proto)
	case errors.As(m.Err, &he) && he.Stage == probes.StagePost && he.Code == 0:
		return fmt.Sprintf("The %s endpoint did not answer the offer: check the URL and that the server runs; a server that accepts the connection but never answers is overloaded or stuck.", he.Proto)
	case errors.As(m.Err, &he) && he.Stage == probes.StagePost && he.Code == 404:
		return "The endpoint does not exist: check the path (WHIP servers usually want the stream name or key in it)."
	case errors.As(m.Err, &he) && he.Stage == probes.StagePost && (he.Code == 403 || he.Code == 409):
		return "The server refused the session: the stream may already have a publisher, or the token does not allow it."
	case errors.As(m.Err, &cm) || (errors.As(m.Err, &he) && he.Stage == probes.StagePost && he.Code >= 400 && strings.Contains(strings.ToLower(he.Status), "codec")):
		return "" // the diagnosis table reads the SDP exchanged
	case errors.As(m.Err, &he) && he.Stage == probes.StageAnswer && errors.Is(he, probes.ErrAnswerNotApplied):
		return fmt.Sprintf("The %s server answered 201, but its SDP answer could not be applied (the error says what pion refused): cannot tell from here whether the answer "+
			"is malformed (RFC 3264) or uses something pion does not support; a browser's WHIP client against the same endpoint tells them apart.", he.Proto)
	case errors.As(m.Err, &he) && he.Stage == probes.StageAnswer:
		return fmt.Sprintf("The %s server's answer breaks the protocol: RFC 9725 wants 201 Created with a Location header for the session and an SDP answer as the body. Clients such as OBS and browsers' WHIP libraries will fail the same way.", he.Proto)
	case errors.As(m.Err, &ce) && ce.Stage == probes.StageICE:
		return "The signalling worked but no media path: the server's ICE candidates are not reachable from here (a private address behind NAT without nat_1_1/public IP set, or its UDP ports firewalled). Give the server a TURN server (Link headers) or open its media ports."
	case errors.As(m.Err, &ce) && ce.Stage == probes.StageMedia:
		return "Connected, but media did not flow as sent: check that the server forwards the negotiated codecs (the codecs evidence) and that the stream has a publisher."
	case m.Err != nil:
		return ""
	case m.Metrics["trickle_failed"] == 1 || m.Metrics["delete_failed"] == 1:
		return sessionFaultAdvice(m)
	}
	return mediaAdvice(r, m)
}

// sessionFaultAdvice: the media flowed, but the server broke a step of
// the session around it (the trickle and delete evidence say how).
func sessionFaultAdvice(m probes.Measurement) string {
	var faults []string
	if m.Metrics["trickle_failed"] == 1 {
		faults = append(faults, "it did not answer the trickle PATCH as RFC 9725 §4.3.1 asks (2xx, or 405/501 without trickle ICE), so clients that trickle may fail where this call, "+
			"connected by its checks to the answer's candidates, did not")
	}
	if m.Metrics["delete_failed"] == 1 {
		faults = append(faults, "it did not answer DELETE with 200 OK (RFC 9725 §4.3), so each session stays, with its resources, until it times out")
	}
	return "Media flowed, but the server broke the session protocol: " + strings.Join(faults, "; ") + ". These are the server's to fix; the network is not involved."
}
