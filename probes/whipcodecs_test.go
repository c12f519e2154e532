package probes_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestWHIPOfferCodecs: the offers of a publisher and a viewer list only
// the codecs rtcprobe has a clip of (H.264 in packetization mode 1, the
// clip's), no H.265 nor other H.264 profiles it could not send.
func TestWHIPOfferCodecs(t *testing.T) {
	testenv.CheckGoroutines(t)
	var (
		mu     sync.Mutex
		offers []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		offers = append(offers, string(b))
		mu.Unlock()
		http.Error(w, "recorded", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/whip")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	probes.WHIPPublish(ctx, probes.MediaServerConfig{WHIP: probes.Endpoint{URL: u}})
	probes.WHEPPlay(ctx, probes.MediaServerConfig{WHEP: probes.Endpoint{URL: u}})
	if len(offers) != 2 {
		t.Fatalf("%d offers, want 2", len(offers))
	}
	want := map[string]string{"audio": "opus G722 PCMU PCMA", "video": "VP8 H264 VP9 AV1"}
	for i, offer := range offers {
		var d sdp.SessionDescription
		if err := d.UnmarshalString(offer); err != nil {
			t.Fatal(err)
		}
		for _, md := range d.MediaDescriptions {
			var names []string
			for _, f := range md.MediaName.Formats {
				pt := f
				for _, a := range md.Attributes {
					if p, rest, _ := strings.Cut(a.Value, " "); a.Key == "rtpmap" && p == pt {
						name, _, _ := strings.Cut(rest, "/")
						names = append(names, name)
					}
					if p, rest, _ := strings.Cut(a.Value, " "); a.Key == "fmtp" && p == pt && strings.Contains(rest, "packetization-mode") && !strings.Contains(rest, "packetization-mode=1") {
						t.Errorf("offer %d: H.264 %q: the payloader sends packetization mode 1 only", i, rest)
					}
				}
			}
			// rtx comes with NACK, for the codecs above.
			got := strings.Join(slicesWithout(names, "rtx"), " ")
			if got != want[md.MediaName.Media] {
				t.Errorf("offer %d, %s: %s, want %s", i, md.MediaName.Media, got, want[md.MediaName.Media])
			}
		}
	}
}

func slicesWithout(s []string, drop string) []string {
	var out []string
	for _, v := range s {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

// oneCodecServer is a WHIP server on pion that takes one video codec (and
// Opus) and counts what arrives of each codec: what a server built on
// pion with one codec registered answers and receives.
type oneCodecServer struct {
	url      *url.URL
	mu       sync.Mutex
	received map[string]int // packets by MIME type
}

func startOneCodecServer(t *testing.T, video webrtc.RTPCodecCapability) *oneCodecServer {
	t.Helper()
	s := &oneCodecServer{received: map[string]int{}}
	var (
		mu  sync.Mutex
		pcs []*webrtc.PeerConnection
		wg  sync.WaitGroup
	)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPatch:
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		case http.MethodDelete:
			return
		}
		offer, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		me := &webrtc.MediaEngine{}
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: video, PayloadType: 100}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Error(err)
		}
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Error(err)
		}
		var se webrtc.SettingEngine
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		pcs = append(pcs, pc)
		mu.Unlock()
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			wg.Add(1)
			defer wg.Done()
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				s.mu.Lock()
				s.received[tr.Codec().MimeType]++
				s.mu.Unlock()
			}
		})
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Error(err)
			}
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotAcceptable)
			return
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(answer); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		<-done
		w.Header().Set("Location", "/session")
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, pc.LocalDescription().SDP)
	})
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		for _, pc := range pcs {
			_ = pc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	s.url, _ = url.Parse(srv.URL + "/whip")
	return s
}

func (s *oneCodecServer) packets(mime string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[mime]
}

// TestWHIPSendsAnsweredCodec: whichever of its video codecs a server
// takes, the publisher sends that codec's clip, and says which it sent;
// a server whose only video codec rtcprobe cannot send gets a codec
// mismatch, not a protocol fault.
func TestWHIPSendsAnsweredCodec(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, c := range []webrtc.RTPCodecCapability{
		{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000},
		{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000},
		{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	} {
		t.Run(c.MimeType, func(t *testing.T) {
			srv := startOneCodecServer(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			m := probes.WHIPPublish(ctx, probes.MediaServerConfig{WHIP: probes.Endpoint{URL: srv.url}, Duration: time.Second})
			if m.Err != nil {
				t.Fatal(m.Err)
			}
			name := strings.TrimPrefix(c.MimeType, "video/")
			if got := evidenceOf(m, "codecs"); got != "audio opus; video "+name {
				t.Errorf("codecs evidence %q, want audio opus; video %s", got, name)
			}
			if n := srv.packets(c.MimeType); n < 10 {
				t.Errorf("the server received %d %s packets", n, c.MimeType)
			}
		})
	}
	t.Run("no codec in common", func(t *testing.T) {
		srv := startOneCodecServer(t, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000})
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		m := probes.WHIPPublish(ctx, probes.MediaServerConfig{WHIP: probes.Endpoint{URL: srv.url}, Duration: time.Second})
		var cm *probes.CodecMismatchError
		if !errors.As(m.Err, &cm) || cm.Kind != "video" || strings.Join(cm.Offered, ",") != "VP8,H264,VP9,AV1" {
			t.Fatalf("error %v (%T), want a video codec mismatch", m.Err, m.Err)
		}
		t.Log(m.Err)
	})
}

func evidenceOf(m probes.Measurement, name string) string {
	for _, e := range m.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
