package browser

import (
	"context"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// CodecFamilies maps each metric of browser.codecs to the MIME type it
// stands for.
var CodecFamilies = []struct{ Metric, MimeType string }{
	{"vp8", "video/VP8"}, {"vp9", "video/VP9"}, {"av1", "video/AV1"}, {"h264", "video/H264"}, {"h265", "video/H265"},
	{"opus", "audio/opus"}, {"pcmu", "audio/PCMU"}, {"pcma", "audio/PCMA"}, {"g722", "audio/G722"},
	{"red", "audio/red"}, {"video_red", "video/red"}, {"ulpfec", "video/ulpfec"}, {"rtx", "video/rtx"},
	{"telephone_event", "audio/telephone-event"},
}

type codecCap struct {
	MimeType    string `json:"mimeType"`
	SDPFmtpLine string `json:"sdpFmtpLine"`
}

// CodecsTask is the page check of browser.codecs.
func CodecsTask() Task { return Task{Name: PageCodecs} }

// Codecs reads RTCRtpSender/RTCRtpReceiver.getCapabilities: per codec
// family, 1 when the browser can both send and receive it, else 0; the
// evidence holds the matrix with profiles.
func Codecs(ctx context.Context, b *Browser) probes.Measurement {
	return b.measure(ctx, CodecsTask(), permissionDefault, CodecsFrom)
}

// CodecsFrom turns the codecs page check's result into browser.codecs'
// measurement.
func CodecsFrom(r PageResult) (m probes.Measurement) {
	var res struct {
		Sender   map[string][]codecCap `json:"sender"`
		Receiver map[string][]codecCap `json:"receiver"`
	}
	if m.Err = r.Decode(PageCodecs, &res); m.Err != nil {
		return m
	}
	all := func(side map[string][]codecCap) []codecCap { return append(side["audio"], side["video"]...) }
	send, recv := all(res.Sender), all(res.Receiver)
	for _, f := range CodecFamilies {
		s, r := profiles(send, f.MimeType), profiles(recv, f.MimeType)
		m.SetMetric(f.Metric, boolMetric(s != nil && r != nil))
		var dirs []string
		if s != nil {
			dirs = append(dirs, "send"+profileList(s))
		}
		if r != nil {
			dirs = append(dirs, "recv"+profileList(r))
		}
		if len(dirs) == 0 {
			dirs = []string{"none"}
		}
		m.AddEvidence(f.MimeType, strings.Join(dirs, "; "))
	}
	return m
}

// profiles returns the distinct profiles of mime in caps (non-nil when the
// codec is there at all): H.264 profile-level-id, VP9 profile-id, AV1
// profile.
func profiles(caps []codecCap, mime string) []string {
	var out []string
	for _, c := range caps {
		if !strings.EqualFold(c.MimeType, mime) {
			continue
		}
		if out == nil {
			out = []string{}
		}
		for _, p := range strings.Split(c.SDPFmtpLine, ";") {
			k, v, _ := strings.Cut(p, "=")
			if (k == "profile-level-id" || k == "profile-id" || k == "profile") && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func profileList(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return " (" + strings.Join(p, ",") + ")"
}
