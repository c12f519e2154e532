package probes

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/media"
)

// A WHIP or WHEP offer lists only the codecs rtcprobe has a clip of: a
// publisher can then send whichever the server picks, and a viewer can
// count the frames of whichever the server sends. An offer that lists a
// codec the client cannot send invites an answer it cannot honour
// (RFC 3264 §5.1: the offer lists what the offerer is willing to use).

// sessionCodecs are the codecs of a WHIP/WHEP offer in order of
// preference: VP8 first, as browsers and OBS's usual servers expect.
// H.264 is the clip's constrained baseline, packetization mode 1 (the
// payloader fragments with FU-A).
var sessionCodecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000}, PayloadType: 9},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}, PayloadType: 98},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}, PayloadType: 45},
}

// OfferedCodecs names the codecs a WHIP/WHEP offer lists, audio first.
func OfferedCodecs() string {
	names := make([]string, len(sessionCodecs))
	for i, c := range sessionCodecs {
		names[i] = codecName(c.MimeType)
	}
	return strings.Join(names, ", ")
}

// codecName is a MIME type's codec part: "video/H264" → "H264".
func codecName(mime string) string {
	if _, n, ok := strings.Cut(mime, "/"); ok {
		return n
	}
	return mime
}

func kindOf(mime string) webrtc.RTPCodecType {
	if strings.HasPrefix(strings.ToLower(mime), "video/") {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// answeredSection is what the answer says about one media section of the
// offer.
type answeredSection struct {
	Kind webrtc.RTPCodecType
	Mid  string
	// Rejected: port 0 (RFC 3264 §6).
	Rejected bool
	// Codec is the first format of the answer rtcprobe offered (RFC 3264
	// §6.1: the offerer should send the first one it supports); nil when
	// none is.
	Codec *webrtc.RTPCodecParameters
	// Listed are the answer's formats as shown: "H265/90000".
	Listed []string
}

// Shown is the section's outcome in words: "video H264" or why not.
func (s answeredSection) Shown() string {
	switch {
	case s.Codec != nil:
		return s.Kind.String() + " " + codecName(s.Codec.MimeType)
	case s.Rejected:
		return s.Kind.String() + " rejected (port 0)"
	}
	return fmt.Sprintf("%s: no codec in common (the server answered %s)", s.Kind, strings.Join(s.Listed, ", "))
}

// maxAnswerFormats bounds what one answer's section is read for.
const maxAnswerFormats = 64

// readAnswer reads the media sections of an SDP answer: for each, the
// codec of sessionCodecs it picked. The answer comes from the network: an
// answer that does not parse returns an error (pion's own
// SetRemoteDescription then says why).
func readAnswer(answer string) ([]answeredSection, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return nil, err
	}
	var out []answeredSection
	for _, md := range d.MediaDescriptions {
		kind := webrtc.NewRTPCodecType(md.MediaName.Media)
		if kind == 0 {
			continue // application (data channel) or unknown
		}
		s := answeredSection{Kind: kind, Rejected: md.MediaName.Port.Value == 0}
		s.Mid, _ = md.Attribute("mid")
		s.Mid = fromNetwork(truncate(s.Mid, 32))
		rtpmap, fmtp := map[string]string{}, map[string]string{}
		for _, a := range md.Attributes {
			pt, rest, _ := strings.Cut(a.Value, " ")
			switch a.Key {
			case "rtpmap":
				rtpmap[pt] = rest
			case "fmtp":
				fmtp[pt] = rest
			}
		}
		for i, f := range md.MediaName.Formats {
			if i == maxAnswerFormats {
				break
			}
			enc := rtpmap[f]
			if enc == "" {
				enc = staticPayload(f)
			}
			s.Listed = append(s.Listed, fromNetwork(truncate(enc, 40)))
			if c := matchCodec(kind, enc, fmtp[f]); c != nil && s.Codec == nil && !s.Rejected {
				s.Codec = c
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// staticPayload names RFC 3551's static payload types rtcprobe knows, for
// answers that omit their rtpmap.
func staticPayload(pt string) string {
	switch pt {
	case "0":
		return "PCMU/8000"
	case "8":
		return "PCMA/8000"
	case "9":
		return "G722/8000"
	}
	return "payload type " + pt
}

// matchCodec finds the codec of sessionCodecs an answer's rtpmap (name,
// clock rate) and fmtp name. H.264 must be packetization mode 1, the only
// one rtcprobe's payloader sends; an fmtp without the mode is taken as
// the server not caring, since answerers often echo no fmtp at all.
func matchCodec(kind webrtc.RTPCodecType, rtpmap, fmtp string) *webrtc.RTPCodecParameters {
	name, rest, _ := strings.Cut(rtpmap, "/")
	clock, _, _ := strings.Cut(rest, "/")
	rate, _ := strconv.ParseUint(clock, 10, 32)
	for i, c := range sessionCodecs {
		if kindOf(c.MimeType) != kind || !strings.EqualFold(codecName(c.MimeType), name) || uint64(c.ClockRate) != rate {
			continue
		}
		if c.MimeType == webrtc.MimeTypeH264 && fmtpParam(fmtp, "packetization-mode") != "" && fmtpParam(fmtp, "packetization-mode") != "1" {
			continue
		}
		return &sessionCodecs[i]
	}
	return nil
}

// fmtpParam is one parameter of an fmtp line ("a=1;b=2").
func fmtpParam(fmtp, key string) string {
	for _, p := range strings.Split(fmtp, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// negotiatedCodecs is the answer's outcome in words, one section after
// another: "audio opus, video H264".
func negotiatedCodecs(secs []answeredSection) string {
	parts := make([]string, len(secs))
	for i, s := range secs {
		parts[i] = s.Shown()
	}
	return strings.Join(parts, "; ")
}

// CodecMismatchError: the server answered (201, a valid SDP answer) but
// left a media section without a codec rtcprobe offered: it rejected the
// section (port 0) or answered only with codecs that were not offered.
type CodecMismatchError struct {
	Proto string
	URL   string
	Kind  string
	// Rejected: the section came back with port 0, which says no codec
	// suited the server or it takes no such media at all.
	Rejected bool
	// Offered are the codecs offered for the kind, Answered the formats
	// the server listed (sanitized).
	Offered, Answered []string
	// After is how long the answer took.
	After time.Duration
}

func (e *CodecMismatchError) Error() string {
	if e.Rejected {
		return fmt.Sprintf("%s answer from %s: the server rejected the %s section (port 0) offered with %s: no codec in common, or it takes no %s at all",
			e.Proto, e.URL, e.Kind, strings.Join(e.Offered, ", "), e.Kind)
	}
	return fmt.Sprintf("%s answer from %s: no %s codec in common: rtcprobe offered %s, the server answered %s",
		e.Proto, e.URL, e.Kind, strings.Join(e.Offered, ", "), strings.Join(e.Answered, ", "))
}

// Observation: the POST was answered; what the answer made of the
// section is the note.
func (e *CodecMismatchError) Observation() Observation {
	note := fmt.Sprintf("no %s codec in common: offered %s; answered %s", e.Kind, strings.Join(e.Offered, ", "), strings.Join(e.Answered, ", "))
	if e.Rejected {
		note = fmt.Sprintf("%s section rejected (port 0); offered %s", e.Kind, strings.Join(e.Offered, ", "))
	}
	return Observation{Step: e.Proto + " " + string(StagePost), To: e.URL, Outcome: OutcomeAnswered, AfterMS: ms(e.After), Code: 201, Reason: "201 Created", Note: note}
}

// offeredFor names the offered codecs of one kind.
func offeredFor(kind webrtc.RTPCodecType) []string {
	var out []string
	for _, c := range sessionCodecs {
		if kindOf(c.MimeType) == kind {
			out = append(out, codecName(c.MimeType))
		}
	}
	return out
}

// mismatch is the error of a section without a common codec.
func (s answeredSection) mismatch(proto, url string, after time.Duration) *CodecMismatchError {
	return &CodecMismatchError{Proto: proto, URL: url, Kind: s.Kind.String(), Rejected: s.Rejected, Offered: offeredFor(s.Kind), Answered: s.Listed, After: after}
}

// clipFor is the clip that sends the codec the server picked.
func clipFor(c *webrtc.RTPCodecParameters) (*media.Clip, error) { return media.ClipFor(c.MimeType) }
