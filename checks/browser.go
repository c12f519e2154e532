package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// The browser checks run in each of the run's browsers (--browser,
// --browsers), shared by all the checks, each check in its own tab; every
// result names the browser and its version. Their numbers come from the
// page's JavaScript; the verdicts are the thresholds below.

// browserTimeout covers the browser's start (shared, but the first check
// waits for it) plus the check itself; firefoxStart is what Firefox's
// start adds (its WebDriver BiDi session waits for the first window).
const (
	browserTimeout = 15 * time.Second
	firefoxStart   = 30 * time.Second
)

// browserTimeoutFor is browserTimeout, longer when the run drives Firefox.
func browserTimeoutFor(p *Plan) time.Duration {
	for _, s := range p.Browsers {
		if s.Engine() == browser.Firefox {
			return browserTimeout + firefoxStart
		}
	}
	return browserTimeout
}

var browserAPIThresholds = []Threshold{
	MustThreshold(Fail, "peerconnection == 1", "RTCPeerConnection is WebRTC itself (W3C webrtc-pc)"),
	MustThreshold(Fail, "getusermedia == 1", "no getUserMedia: no camera or microphone in calls (W3C mediacapture-streams)"),
	MustThreshold(Fail, "datachannel == 1", "data channels (RFC 8831) carry chat, files and signaling in most apps"),
	MustThreshold(Fail, "secure_context == 1", "browsers expose capture only to secure contexts (https or localhost)"),
	MustThreshold(Warn, "enumeratedevices == 1", "without enumerateDevices the user cannot pick a camera or mic"),
	MustThreshold(Warn, "getcapabilities == 1", "apps use RTCRtpSender.getCapabilities to choose codecs"),
	MustThreshold(Warn, "getdisplaymedia == 1", "no screen sharing"),
	MustThreshold(Warn, "encoded_transforms == 1", "end-to-end encryption (SFrame, insertable streams) needs encoded transforms"),
	MustThreshold(Warn, "outdated_versions == 0", "older than the support window (README: Browsers): WebRTC interop and security fixes land in newer versions"),
}

var browserDevicesThresholds = []Threshold{
	MustThreshold(Fail, "audioinput >= 1", "a call needs a microphone"),
	MustThreshold(Warn, "videoinput >= 1", "no camera: audio-only calls"),
	MustThreshold(Warn, "audiooutput >= 1", "no speaker or headset listed"),
}

var browserGUMAudioThresholds = []Threshold{
	MustThreshold(Warn, "first_sample_ms < 1000", "a microphone that takes over a second to start clips the first words"),
}

var browserGUMVideoThresholds = []Threshold{
	MustThreshold(Warn, "first_frame_ms < 1500", "a camera that takes over 1.5 s to show a picture makes joining feel broken"),
	MustThreshold(Warn, "frame_rate >= 15", "below 15 fps motion looks jerky (common conferencing minimum)"),
}

var browserResolutionThresholds = []Threshold{
	MustThreshold(Fail, "resolutions >= 1", "the camera delivers none of the usual sizes exactly"),
	MustThreshold(Warn, "res_640x480 == 1", "VGA is the baseline size services ask cameras for"),
	MustThreshold(Warn, "res_1280x720 == 1", "HD (720p) is what most services send when bandwidth allows"),
}

var browserVideoQualityThresholds = []Threshold{
	MustThreshold(Fail, "black_frames_pct < 50", "mostly black frames: others see a black tile"),
	MustThreshold(Warn, "black_frames_pct < 5", "black frames now and then: the camera is covered or starting"),
	MustThreshold(Fail, "frozen_frames_pct < 50", "mostly repeated frames: others see a frozen picture"),
	MustThreshold(Warn, "frozen_frames_pct < 10", "frames repeat: the camera or its driver stalls"),
	MustThreshold(Fail, "fps >= 5", "below 5 fps video is a slide show"),
	MustThreshold(Warn, "fps >= 15", "below 15 fps motion looks jerky (common conferencing minimum)"),
}

var browserAudioQualityThresholds = []Threshold{
	MustThreshold(Fail, "peak_dbfs > -90", "digital silence: no working microphone ever gives a peak this low"),
	MustThreshold(Warn, "rms_dbfs > -70", "far below a quiet room through a working mic (about -60 to -40 dBFS)"),
	MustThreshold(Warn, "clipped_pct < 5", "speech pinned at full scale in more than a few percent of samples is audibly distorted (Chrome's synthetic beep alone reaches about 2%)"),
}

var browserCodecThresholds = []Threshold{
	MustThreshold(Fail, "vp8 == 1", "RFC 7742: WebRTC browsers must support VP8"),
	MustThreshold(Warn, "h264 == 1", "RFC 7742: WebRTC browsers must support H.264 (some Chromium builds leave it out); Safari/iOS peers prefer it"),
	MustThreshold(Fail, "opus == 1", "RFC 7874: Opus is mandatory for WebRTC audio"),
	MustThreshold(Warn, "pcmu == 1", "RFC 7874: G.711 is mandatory (interop with telephony)"),
	MustThreshold(Warn, "pcma == 1", "RFC 7874: G.711 is mandatory (interop with telephony)"),
}

var browserICEThresholds = []Threshold{
	MustThreshold(Fail, "errors == 0", "an icecandidateerror means the browser could not use the server"),
	MustThreshold(Fail, "complete == 1", "gathering did not finish: the server never answered"),
	MustThreshold(Fail, "relay >= 1", "no relay candidate: calls that need TURN (symmetric NAT, UDP blocked) fail"),
	MustThreshold(Warn, "gather_ms < 1000", "slow gathering delays every call setup"),
}

var browserLoopbackThresholds = []Threshold{
	MustThreshold(Fail, "frames_decoded >= 1", "no video frame went through the browser's own encoder, network stack and decoder"),
	MustThreshold(Fail, "fps >= 5", "below 5 fps video is a slide show"),
	MustThreshold(Warn, "fps >= 15", "below 15 fps motion looks jerky: the machine may be too slow to encode"),
	MustThreshold(Warn, "rtt_ms < 50", "a loopback call has no network: a high RTT means an overloaded machine"),
}

var browserInteropThresholds = concat([]Threshold{
	MustThreshold(Fail, "pion_video_frames >= 1", "no video frame from the browser reached the pion peer (chrome_* metrics are the browser's, whichever it is)"),
	MustThreshold(Fail, "pion_audio_packets >= 1", "no audio from the browser reached the pion peer"),
	MustThreshold(Fail, "chrome_frames_decoded >= 1", "the browser decoded no video frame from the pion peer"),
	MustThreshold(Fail, "chrome_audio_packets >= 1", "no audio from the pion peer reached the browser"),
	MustThreshold(Fail, "dc_lost == 0", "data channels are reliable and ordered by default (RFC 8831): none may be lost"),
	MustThreshold(Fail, "relayed == 1", "relay-only call did not go through the TURN server"),
	MustThreshold(Warn, "connected_ms < 1000", "users notice call setup beyond a second (on loopback it takes about 150-300 ms)"),
}, renamed(lossThresholds, "up_loss_pct"), renamed(lossThresholds, "down_loss_pct"),
	renamed(jitterThresholds, "up_jitter_ms"), renamed(jitterThresholds, "down_jitter_ms"), rttThresholds)

// renamed is ts on another metric (the same limits and reasons).
func renamed(ts []Threshold, metric string) []Threshold {
	out := make([]Threshold, len(ts))
	for i, t := range ts {
		t.Metric = metric
		out[i] = t
	}
	return out
}

// browserRun starts (or reuses) the run's browser and measures with it.
// No browser is a skip with an install hint, or a failure when the plan
// requires one.
func browserRun(measure func(ctx context.Context, b *browser.Browser, s Subject, p *Plan) probes.Measurement) func(context.Context, Subject, *Plan) probes.Measurement {
	return func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
		if s.Browser == nil {
			return probes.Failed(fmt.Errorf("%w: no browser set up for this run", probes.ErrUnsupported))
		}
		b, err := s.Browser.Get(ctx)
		if err != nil {
			if browser.IsNotFound(err) && !p.Settings.RequireBrowser {
				err = fmt.Errorf("%w: %w", probes.ErrUnsupported, err)
			}
			return probes.Failed(err)
		}
		return measure(ctx, b, s, p)
	}
}

// browserSubject is the one subject of a browser-wide check per browser.
func browserSubject(p *Plan) []Subject {
	return perBrowser(p, []Subject{{}})
}

// perBrowser repeats subjects for each browser of the run, named after it
// ("Chromium 156.0.8078.108 · all candidates"). A plan without browsers
// keeps them unnamed ("browser" when they have no name of their own).
func perBrowser(p *Plan, subjects []Subject) []Subject {
	if len(p.Browsers) == 0 {
		out := append([]Subject(nil), subjects...)
		for i := range out {
			if out[i].Name == "" {
				out[i].Name = "browser"
			}
		}
		return out
	}
	var out []Subject
	for _, b := range p.Browsers {
		for _, s := range subjects {
			s.Browser = b
			s.Name = joinName(b.Label(), s.Name)
			out = append(out, s)
		}
	}
	return out
}

// joinName joins the non-empty parts of a target's name.
func joinName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " · ")
}

func browserChecks() []*Check {
	one := func(id, page, title, desc string, metrics []string, th []Threshold, timeout time.Duration,
		measure func(ctx context.Context, b *browser.Browser, s Subject, p *Plan) probes.Measurement) *Check {
		return &Check{ID: id, Page: page, Title: title, Description: desc, Metrics: metrics, Timeout: timeout, TimeoutFor: browserTimeoutFor,
			Thresholds: th, Subjects: browserSubject, Run: browserRun(measure), Advice: browserAdvice}
	}
	gum := func(kind browser.Kind, first string, settings []string, th []Threshold) *Check {
		c := one("browser.getusermedia."+string(kind), browser.PageGetUserMedia, "getUserMedia "+string(kind),
			"Opens the "+map[browser.Kind]string{browser.Audio: "microphone", browser.Video: "camera"}[kind]+
				" with getUserMedia: time to the first data, track settings and the device used.",
			append([]string{first, "gum_ms"}, settings...), th, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.GetUserMedia(ctx, b, kind, browser.GUMConfig{})
			})
		c.Remote = pageOnly(browser.GetUserMediaTask(kind), func(r browser.PageResult) probes.Measurement { return browser.GetUserMediaFrom(kind, r) })
		return c
	}
	res := []string{"resolutions"}
	for _, r := range browser.Resolutions {
		res = append(res, browser.ResolutionMetric(r[0], r[1]))
	}
	codecs := []string{}
	for _, f := range browser.CodecFamilies {
		codecs = append(codecs, f.Metric)
	}
	checks := []*Check{
		one("browser.api", browser.PageAPI, "Browser WebRTC APIs",
			"Looks for RTCPeerConnection, getUserMedia, RTCDataChannel, enumerateDevices, getDisplayMedia, getCapabilities and encoded transforms; reports the browser version and warns below the support window.",
			append([]string{"missing_apis", "version_major", "outdated_versions", "secure_context"}, browser.APIFeatures...), browserAPIThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.API(ctx, b)
			}),
		one("browser.devices", browser.PageDevices, "Cameras, microphones, speakers",
			"Lists media devices (enumerateDevices) with their labels and counts them per kind.",
			browser.DeviceKinds, browserDevicesThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.Devices(ctx, b)
			}),
		gum(browser.Audio, "first_sample_ms", []string{"sample_rate", "channels"}, browserGUMAudioThresholds),
		gum(browser.Video, "first_frame_ms", []string{"width", "height", "frame_rate"}, browserGUMVideoThresholds),
		one("browser.resolutions", browser.PageResolutions, "Camera resolutions",
			"Asks the camera for 320x240, 640x480, 1280x720 and 1920x1080 with exact constraints and records which it delivers.",
			res, browserResolutionThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.CaptureResolutions(ctx, b)
			}),
		one("browser.video.quality", browser.PageVideoQuality, "Camera picture",
			"Samples about 1.5 s of camera frames: black frames (mean luma), frozen frames (frame-to-frame difference) and the frame rate delivered.",
			[]string{"fps", "black_frames_pct", "frozen_frames_pct", "luma_mean", "frames", "width", "height", "frame_rate", "still_frames_pct"}, browserVideoQualityThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.VideoQuality(ctx, b, browser.QualityConfig{})
			}),
		one("browser.audio.quality", browser.PageAudioQuality, "Microphone signal",
			"Samples about 1.5 s of raw microphone audio: RMS level and peak in dBFS, silent chunks and clipped samples.",
			[]string{"rms_dbfs", "peak_dbfs", "clipped_pct", "silent_pct", "samples", "channels", "sample_rate"}, browserAudioQualityThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.AudioQuality(ctx, b, browser.QualityConfig{})
			}),
		one("browser.codecs", browser.PageCodecs, "Browser codecs",
			"Reads RTCRtpSender/RTCRtpReceiver capabilities: VP8, VP9, AV1, H.264 (profiles), Opus, G.711, G.722, RED, FEC.",
			codecs, browserCodecThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.Codecs(ctx, b)
			}),
		{
			ID: "browser.ice", Page: browser.PageICE, Title: "Browser ICE gathering", Takes: time.Second,
			Description: "Gathers ICE candidates in the browser with each configured server: host, srflx and relay candidates found, and icecandidateerror codes.",
			Metrics:     []string{"relay", "srflx", "gather_ms", "host", "errors", "complete"},
			Timeout:     browserTimeout, TimeoutFor: browserTimeoutFor, Thresholds: browserICEThresholds, Subjects: browserICESubjects,
			Needs: "a stun: or turn: server",
			Run: browserRun(func(ctx context.Context, b *browser.Browser, s Subject, p *Plan) probes.Measurement {
				if err := browserTrustsTarget(s, p); err != nil {
					return probes.Failed(err)
				}
				return browser.ICE(ctx, b, s.Target, browser.ICEConfig{})
			}),
			Remote: &Remote{
				Task: func(s Subject, _ *Plan, _ RemoteEnv) browser.Task {
					return browser.ICETask(s.Target, browser.ICEConfig{})
				},
				Measure: func(s Subject, _ *Plan, r browser.PageResult, _ browser.CallStats) probes.Measurement {
					return browser.ICEFrom(s.Target, r)
				},
			},
			Advice: browserAdvice,
		},
		one("browser.loopback", browser.PageLoopback, "Browser loopback call",
			"Calls the page itself (two RTCPeerConnections over loopback) with the camera and mic, and reads getStats after 2 s: fps, bitrate, RTT, codec.",
			[]string{"fps", "video_kbps", "rtt_ms", "audio_kbps", "frames_decoded", "connected_ms", "audio_packets_lost", "video_packets_lost"}, browserLoopbackThresholds, browserTimeout,
			func(ctx context.Context, b *browser.Browser, _ Subject, _ *Plan) probes.Measurement {
				return browser.Loopback(ctx, b, browser.LoopbackConfig{})
			}),
		{
			ID: "browser.interop", Page: browser.PageInterop, Title: "Browser ↔ pion call", Takes: 4 * time.Second,
			Description: "A real call between the browser and rtcprobe's pion/webrtc peer: media both ways, data channel echo; once with all candidates and once relay-only per TURN server.",
			Metrics: []string{"connected_ms", "chrome_frames_decoded", "pion_video_frames", "pion_audio_packets", "chrome_audio_packets",
				"dc_rtt_median_ms", "dc_lost", "relayed", "rtt_ms", "up_loss_pct", "down_loss_pct", "up_jitter_ms", "down_jitter_ms",
				"up_kbps", "down_kbps", "up_fps", "down_fps", "dc_up_mbps", "dc_down_mbps",
				"gum_ms", "gathered_ms", "answered_ms", "pion_video_packets", "dc_open_ms", "dc_sent"},
			Sometimes: map[string]string{"relayed": "relay-only calls", "dc_up_mbps": "on the pre-call page", "dc_down_mbps": "on the pre-call page"},
			Timeout:   browserTimeout, TimeoutFor: browserTimeoutFor, Thresholds: browserInteropThresholds, Subjects: browserInteropSubjects,
			Run: browserRun(func(ctx context.Context, b *browser.Browser, s Subject, p *Plan) probes.Measurement {
				if err := browserTrustsTarget(s, p); err != nil {
					return probes.Failed(err)
				}
				return browser.Interop(ctx, b, interopConfig(s, false))
			}),
			Remote: &Remote{
				Task: func(s Subject, p *Plan, env RemoteEnv) browser.Task {
					setup := env.Call
					if !s.Target.Server.IsTURN() {
						// All candidates: the browser gathers with every server.
						setup.ICEServers = nil
						for _, sub := range browserICESubjects(p) {
							setup.ICEServers = append(setup.ICEServers, probes.ICEServer(sub.Target.Server, sub.Target.Transport))
						}
					}
					return browser.InteropTask(interopConfig(s, true), setup)
				},
				Measure: func(s Subject, _ *Plan, r browser.PageResult, call browser.CallStats) probes.Measurement {
					return browser.InteropFrom(interopConfig(s, true), r, call)
				},
			},
			Advice: browserAdvice,
		},
	}
	remote := map[string]*Remote{
		"browser.api":     pageOnly(browser.APITask(), func(r browser.PageResult) probes.Measurement { return browser.APIFrom(r, "") }),
		"browser.devices": pageOnly(browser.DevicesTask(), browser.DevicesFrom),
		"browser.codecs":  pageOnly(browser.CodecsTask(), browser.CodecsFrom),
		"browser.video.quality": pageOnly(browser.VideoQualityTask(browser.QualityConfig{}), func(r browser.PageResult) probes.Measurement {
			return browser.VideoQualityFrom(browser.QualityConfig{}, r)
		}),
		"browser.audio.quality": pageOnly(browser.AudioQualityTask(browser.QualityConfig{}), func(r browser.PageResult) probes.Measurement {
			return browser.AudioQualityFrom(browser.QualityConfig{}, r)
		}),
	}
	// Metrics that depend on the browser.
	sometimes := map[string]map[string]string{
		"browser.video.quality": {
			"frozen_frames_pct": "not for Firefox's synthetic camera",
			"still_frames_pct":  "instead of frozen_frames_pct, for Firefox's synthetic camera",
		},
		"browser.audio.quality": {"sample_rate": "when the browser's track settings give it"},
	}
	// How long each page's work lasts on a quiet machine (Check.Takes):
	// samples of a call or of the camera and microphone.
	takes := map[string]time.Duration{
		"browser.loopback": 2500 * time.Millisecond, "browser.video.quality": 2 * time.Second,
		"browser.audio.quality": 2 * time.Second,
	}
	for _, c := range checks {
		c.Takes = cmp.Or(c.Takes, takes[c.ID])
		if r, ok := remote[c.ID]; ok {
			c.Remote = r
		}
		if m, ok := sometimes[c.ID]; ok {
			c.Sometimes = m
		}
	}
	return checks
}

// pageOnly is the Remote of a check whose page check takes no subject.
func pageOnly(t browser.Task, from func(browser.PageResult) probes.Measurement) *Remote {
	return &Remote{
		Task:    func(Subject, *Plan, RemoteEnv) browser.Task { return t },
		Measure: func(_ Subject, _ *Plan, r browser.PageResult, _ browser.CallStats) probes.Measurement { return from(r) },
	}
}

// interopConfig is the call of one browser.interop subject: relay-only
// through its TURN server and transport, or with all candidates. A
// browser elsewhere also measures the data channel's throughput on the
// all-candidates call.
func interopConfig(s Subject, remote bool) browser.InteropConfig {
	cfg := browser.InteropConfig{}
	if s.Target.Server.IsTURN() {
		t := s.Target
		cfg.Relay = &t
	} else {
		cfg.Throughput = remote
	}
	return cfg
}

// browserTrustsTarget skips TLS servers the run trusts by its own rules
// (a CA file, or skipping verification) unless the browser was told to trust the very same
// certificates (the embedded server's): otherwise the browser verifies
// against the system's store only, so its verdict would be about that,
// not the server.
func browserTrustsTarget(s Subject, p *Plan) error {
	tc := p.TLS
	if s.Target.Server.URI.Scheme != stun.SchemeTypeTURNS || tc == nil || (tc.RootCAs == nil && !tc.InsecureSkipVerify) {
		return nil
	}
	if !tc.InsecureSkipVerify && s.Browser.Trusts(tc.RootCAs) {
		return nil
	}
	return fmt.Errorf("%w: the browser trusts only the system's certificate authorities; this run's own trust settings (a CA file, or skipping verification) do not reach it", probes.ErrUnsupported)
}

// browserSpeaks: browsers use STUN over UDP only, and TURN over UDP, TCP
// and TLS, not DTLS.
func browserSpeaks(s probes.Server, tr probes.Transport) bool {
	if s.IsTURN() {
		return tr != probes.DTLS
	}
	return s.URI.Scheme == stun.SchemeTypeSTUN && tr == probes.UDP
}

// browserICESubjects: each server over each transport the browser speaks.
func browserICESubjects(p *Plan) []Subject {
	var out []Subject
	for _, s := range p.Servers {
		for _, tr := range s.Transports() {
			if !browserSpeaks(s, tr) {
				continue
			}
			out = append(out, Subject{Name: browserSubjectName(s, tr), Target: probes.Target{Server: s, Transport: tr, TLS: p.TLS}})
		}
	}
	return perBrowser(p, out)
}

// browserInteropSubjects: one call with all candidates, and one relay-only
// call per TURN server and transport, per browser.
func browserInteropSubjects(p *Plan) []Subject {
	return perBrowser(p, browserCallSubjects(p))
}

// browserCallSubjects: one call with all candidates, and one relay-only call per
// TURN server and transport a browser speaks.
func browserCallSubjects(p *Plan) []Subject {
	out := []Subject{{Name: "all candidates", Path: result.AllCandidates}}
	for _, s := range p.Servers {
		if !s.IsTURN() {
			continue
		}
		for _, tr := range s.Transports() {
			if !browserSpeaks(s, tr) {
				continue
			}
			out = append(out, Subject{Name: "relay-only via " + browserSubjectName(s, tr), Path: result.RelayOnly,
				Target: probes.Target{Server: s, Transport: tr, TLS: p.TLS}})
		}
	}
	return out
}

func browserSubjectName(s probes.Server, tr probes.Transport) string {
	if s.IsTURN() && !s.ExplicitTransport {
		return s.String() + " (" + tr.Upper() + ")"
	}
	return s.String()
}

// browserAdvice explains browser errors and broken thresholds.
func browserAdvice(r Result, m probes.Measurement) string {
	var (
		dom     *browser.DOMError
		timeout *browser.StepTimeoutError
		launch  *browser.LaunchError
	)
	switch {
	case browser.IsNotFound(m.Err):
		var nf *browser.NotFoundError
		errors.As(m.Err, &nf)
		return "No browser to drive: " + browser.HintFor(nf.Engine) + "."
	case errors.As(m.Err, &dom):
		return DOMExceptionAdvice(dom)
	case errors.As(m.Err, &timeout):
		return "The browser did not finish in time: the machine is overloaded, or a device never delivered data (try another camera/mic, close other apps using it)."
	case errors.As(m.Err, &launch):
		return "The browser would not start: run it by hand with --headless to see why (missing libraries, or --no-sandbox needed as root)."
	case m.Err != nil:
		return ""
	}
	broken := r.Broke
	switch r.CheckID {
	case "browser.video.quality":
		switch {
		case broken("black_frames_pct"):
			return "The camera delivers black frames: open the privacy shutter or lens cover, check the lighting, or close other apps holding the camera."
		case broken("frozen_frames_pct"):
			return "The camera repeats the same frame: its driver or a virtual camera stalls; reconnect it or pick another camera."
		case broken("fps"):
			return "The camera delivers few frames: poor light makes cameras lengthen exposure; add light or lower the CPU load."
		}
	case "browser.audio.quality":
		switch {
		case broken("peak_dbfs"):
			return "The microphone delivers digital silence: it is muted (hardware switch, OS mixer) or the wrong input is selected."
		case broken("rms_dbfs"):
			return "The microphone is very quiet: raise its input level in the OS, or move it closer."
		case broken("clipped_pct"):
			return "The microphone clips: lower its input gain in the OS."
		}
	case "browser.ice":
		if sum, ok := m.Summary.(*browser.ICESummary); ok && len(sum.Errors) > 0 {
			return ICEErrorAdvice(sum.Errors[0])
		}
		if broken("relay") {
			return "The browser got no relay candidate: check the TURN credentials and that the browser can reach the server over this transport."
		}
	case "browser.interop":
		switch {
		case broken("relayed"):
			return "The relay-only call did not use the TURN server: check that the server relays to loopback peers (coturn: --allow-loopback-peers)."
		case broken("dc_lost"):
			return "Data channel messages were lost: SCTP over DTLS is being disrupted on the path."
		case broken("connected_ms"):
			return "The call connected slowly: the machine is overloaded, or ICE checks and TURN allocations take long on this path."
		}
		return "The browser and pion did not exchange media both ways: compare the negotiated codecs and candidate pairs in the evidence."
	case "browser.api":
		if broken("outdated_versions") {
			return "Update the browser: it is older than the versions rtcprobe supports, and calls with current browsers may fail on codec or SDP details."
		}
	case "browser.codecs":
		if r.Subject.Engine == string(browser.Firefox) && broken("h264") {
			return "Firefox gets H.264 from Cisco's OpenH264 plugin, which it downloads on first use: this profile has none (offline, or updates of plugins off); Firefox then offers no H.264 to peers that need it (Safari, some SIP gateways)."
		}
		return "This browser build lacks a mandatory codec: calls with some peers will fail or fall back; use an official Chrome/Chromium or Firefox build."
	case "browser.devices":
		// Say what is missing: a missing speaker is not fixed by a microphone.
		var missing []string
		for _, d := range []struct{ metric, what string }{{"audioinput", "a microphone"}, {"videoinput", "a camera"}, {"audiooutput", "speakers or a headset"}} {
			if broken(d.metric) {
				missing = append(missing, d.what)
			}
		}
		if len(missing) == 0 {
			return ""
		}
		return "Connect " + strings.Join(missing, " and ") + ", and check the OS privacy and sound settings let the browser see them."
	}
	return ""
}

// DOMExceptionAdvice maps a getUserMedia/WebRTC DOMException to what the
// user can do.
func DOMExceptionAdvice(e *browser.DOMError) string {
	switch e.Name {
	case "NotAllowedError":
		return "Permission denied: allow the camera and microphone for this site (the camera icon in the address bar), and in the OS privacy settings (macOS: System Settings › Privacy & Security; Windows: Settings › Privacy › Camera/Microphone)."
	case "NotFoundError":
		return "No such device: connect a camera/microphone, or enable it in the OS device settings."
	case "NotReadableError":
		return "The device is busy or failed: close other apps or tabs using the camera/microphone (Zoom, Teams, another browser), or reconnect it."
	case "OverconstrainedError":
		return fmt.Sprintf("The device cannot deliver what was asked (constraint %q): relax the constraint or pick another device.", e.Constraint)
	case "SecurityError":
		return "Capture is blocked for this page: it must be served over https (or from localhost), and not blocked by a Permissions-Policy."
	case "AbortError":
		return "The device was opened but failed to start: reconnect it or restart the browser."
	case "TimeoutError":
		if strings.HasPrefix(e.Op, "getUserMedia") {
			return "The device did not open in time: it is stuck or held by another app, or a permission prompt is waiting unseen; close other apps using it or reconnect it."
		}
		return "The connection did not come up in time: check the candidate pairs in the evidence (a firewall between the peers, or TURN needed)."
	case "ConnectionFailedError":
		return "ICE or DTLS failed: no candidate pair worked; a firewall blocks UDP between the peers, or TURN is needed."
	}
	return ""
}

// ICEErrorAdvice explains an icecandidateerror by its code.
func ICEErrorAdvice(e browser.ICECandidateError) string {
	switch e.ErrorCode {
	case 701:
		return "The browser could not reach the server (error 701): a firewall blocks this transport/port, or the host name does not resolve."
	case 401:
		return "The TURN server rejected the credentials (401): check the username and password, or the expiry of time-limited credentials."
	case 403:
		return "The TURN server forbids this (403): its policy denies the peer address or the allocation."
	case 486:
		return "The TURN server's allocation quota is exhausted (486): too many allocations for this user."
	case 508:
		return "The TURN server has no capacity (508): try again or use another server."
	}
	return fmt.Sprintf("The browser reported error %d for %s: %s", e.ErrorCode, e.URL, strings.TrimSpace(e.ErrorText))
}
