package probes

import (
	"strings"
	"testing"
)

// TestReadAnswer: the codec picked for each section is the answer's
// first format rtcprobe offered (H.264 only in packetization mode 1); a
// section that lists only codecs not offered, or is rejected, has none.
func TestReadAnswer(t *testing.T) {
	const answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 0 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 97 98 100\r\na=mid:1\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0;profile-level-id=42e01f\r\n" +
		"a=rtpmap:98 H265/90000\r\na=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1;profile-level-id=42e01f\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:2\r\na=rtpmap:98 H265/90000\r\n" +
		"m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=rtpmap:96 VP8/90000\r\n"
	secs, err := readAnswer(answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 4 {
		t.Fatalf("%d sections, want 4", len(secs))
	}
	if c := secs[0].Codec; c == nil || c.MimeType != "audio/PCMU" {
		t.Errorf("audio: %+v, want PCMU (the first format, static payload type 0)", c)
	}
	if c := secs[1].Codec; c == nil || c.PayloadType != 102 || !strings.Contains(c.SDPFmtpLine, "packetization-mode=1") {
		t.Errorf("video: %+v, want H.264 mode 1", c)
	}
	if secs[2].Codec != nil || strings.Join(secs[2].Listed, ",") != "H265/90000" {
		t.Errorf("H.265 only: %+v", secs[2])
	}
	if e := secs[2].mismatch("WHIP", "u", 0); e.Rejected || !strings.Contains(e.Error(), "no video codec in common: rtcprobe offered VP8, H264, VP9, AV1, the server answered H265/90000") {
		t.Errorf("mismatch: %v", e)
	}
	if !secs[3].Rejected || secs[3].Codec != nil {
		t.Errorf("port 0: %+v", secs[3])
	}
	if got := negotiatedCodecs(secs[:2]); got != "audio PCMU; video H264" {
		t.Errorf("negotiated %q", got)
	}
}
