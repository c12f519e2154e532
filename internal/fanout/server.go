// Package fanout is rtcprobe's embedded one-to-many media server: a pion
// forwarder that takes one publisher per stream over WHIP (RFC 9725) and
// plays the stream to any number of viewers over WHEP, on loopback. It is
// what `rtcprobe --checks broadcast` probes when no WHIP/WHEP server is
// named (as the embedded TURN server is for the TURN checks), and the
// tests' own media server.
package fanout

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Limits that keep a misbehaving client from growing the server.
const (
	maxBody     = 256 << 10
	maxSessions = 512
	gatherWait  = 5 * time.Second
)

// Config adjusts the server; the zero value serves on 127.0.0.1 without
// a token.
type Config struct {
	// Host is the loopback address to listen on (default 127.0.0.1).
	Host string
	// Token, when set, is the bearer token every request must carry.
	Token string
	// ICEServers are announced in Link headers (RFC 9725 §4.6) and used
	// by the server's own peers.
	ICEServers []webrtc.ICEServer
	// SessionICEServers, when set, gives them for each session as it
	// starts, in place of ICEServers: credentials minted for that session
	// (a server that outlives their lifetime never hands out expired ones).
	SessionICEServers func() []webrtc.ICEServer
	// NoTrickle answers PATCH with 405, as a server without trickle ICE.
	NoTrickle bool
	// Relay restricts the server's peers to relay candidates from
	// ICEServers: every publisher's and viewer's media then goes through
	// that TURN server (a broadcast relayed as a mesh call would be).
	Relay bool
}

// Server is a running fan-out server.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	api  *webrtc.API

	mu       sync.Mutex
	streams  map[string]*stream
	sessions map[string]*session
	closed   bool
}

// stream is one published stream: the tracks viewers are given, fed by
// whichever publisher holds the stream.
type stream struct {
	audio, video *webrtc.TrackLocalStaticRTP
	mu           sync.Mutex
	publisher    *session
	videoSSRC    webrtc.SSRC
}

type session struct {
	id        string
	pc        *webrtc.PeerConnection
	stream    *stream
	publisher bool
	etag      string
	// ice are the ICE servers its peer uses, announced to its client.
	ice []webrtc.ICEServer
}

// Start listens on an ephemeral port of cfg.Host and serves WHIP at
// /whip/{stream} and WHEP at /whep/{stream}.
func Start(cfg Config) (*Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	// Receiver reports every 250 ms, as rtcprobe's own peers send them: a
	// few seconds of publishing then give the publisher several RTTs.
	api, err := probes.NewAPI(probes.APIConfig{Loopback: isLoopback(cfg.Host), ReportInterval: 250 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("fan-out server: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, api: api, streams: map[string]*stream{}, sessions: map[string]*session{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{stream}", s.publish)
	mux.HandleFunc("POST /whep/{stream}", s.play)
	mux.HandleFunc("PATCH /session/{id}", s.trickle)
	mux.HandleFunc("DELETE /session/{id}", s.end)
	for _, p := range []string{"/whip/{stream}", "/whep/{stream}", "/session/{id}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		})
	}
	s.http = &http.Server{Handler: s.auth(mux), ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WHIP is the URL to publish stream name to.
func (s *Server) WHIP(name string) *url.URL { return s.url("whip", name) }

// WHEP is the URL to play stream name from.
func (s *Server) WHEP(name string) *url.URL { return s.url("whep", name) }

func (s *Server) url(kind, name string) *url.URL {
	return &url.URL{Scheme: "http", Host: s.ln.Addr().String(), Path: "/" + kind + "/" + url.PathEscape(name)}
}

// Sessions is the number of sessions open (publishers and viewers).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	sessions := s.sessions
	s.sessions = map[string]*session{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	for _, ss := range sessions {
		_ = ss.pc.Close()
	}
	return err
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.cfg.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rtcprobe"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) stream(name string) (*stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.streams[name]; ok {
		return st, nil
	}
	if len(s.streams) >= maxSessions {
		return nil, errors.New("too many streams")
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", name)
	if err != nil {
		return nil, err
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", name)
	if err != nil {
		return nil, err
	}
	st := &stream{audio: audio, video: video}
	s.streams[name] = st
	return st, nil
}

// readOffer reads a bounded application/sdp body.
func readOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(w, "want Content-Type application/sdp", http.StatusUnsupportedMediaType)
		return "", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "offer too large or unreadable", http.StatusRequestEntityTooLarge)
		return "", false
	}
	return string(body), true
}

// begin reads a WHIP/WHEP offer and creates its session on the named
// stream; a nil session means the request was answered with an error.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, publisher bool) (string, *stream, *session) {
	offer, ok := readOffer(w, r)
	if !ok {
		return "", nil, nil
	}
	st, err := s.stream(r.PathValue("stream"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return "", nil, nil
	}
	return offer, st, s.newSession(w, st, publisher)
}

// newSession creates a peer for a session, or answers 503 when full.
func (s *Server) newSession(w http.ResponseWriter, st *stream, publisher bool) *session {
	s.mu.Lock()
	full := len(s.sessions) >= maxSessions || s.closed
	s.mu.Unlock()
	if full {
		http.Error(w, "server full", http.StatusServiceUnavailable)
		return nil
	}
	policy := webrtc.ICETransportPolicyAll
	if s.cfg.Relay {
		policy = webrtc.ICETransportPolicyRelay
	}
	ice := s.cfg.ICEServers
	if s.cfg.SessionICEServers != nil {
		ice = s.cfg.SessionICEServers()
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: ice, ICETransportPolicy: policy})
	if err != nil {
		http.Error(w, "peer connection: "+err.Error(), http.StatusInternalServerError)
		return nil
	}
	ss := &session{id: rand.Text(), pc: pc, stream: st, publisher: publisher, etag: `"` + rand.Text()[:12] + `"`, ice: ice}
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if state == webrtc.PeerConnectionStateFailed || state == webrtc.PeerConnectionStateClosed {
			s.drop(ss)
		}
	})
	return ss
}

// answer applies the offer, gathers, registers the session and writes
// 201 Created with the answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, ss *session, offer string) {
	if err := ss.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = ss.pc.Close()
		http.Error(w, "bad offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	ans, err := ss.pc.CreateAnswer(nil)
	if err != nil {
		_ = ss.pc.Close()
		http.Error(w, "no answer: "+err.Error(), http.StatusBadRequest)
		return
	}
	gathered := webrtc.GatheringCompletePromise(ss.pc)
	if err := ss.pc.SetLocalDescription(ans); err != nil {
		_ = ss.pc.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	t := time.NewTimer(gatherWait)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
	case <-r.Context().Done():
		_ = ss.pc.Close()
		return
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.sessions[ss.id] = ss
	}
	s.mu.Unlock()
	if closed {
		// Close has already ended the sessions it knew: this one would
		// outlive the server.
		_ = ss.pc.Close()
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", "/session/"+ss.id)
	h.Set("ETag", ss.etag)
	if !s.cfg.NoTrickle {
		h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	}
	for _, is := range ss.ice {
		for _, u := range is.URLs {
			link := "<" + u + `>; rel="ice-server"`
			if is.Username != "" {
				link += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, is.Username, fmt.Sprint(is.Credential))
			}
			h.Add("Link", link)
		}
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, ss.pc.LocalDescription().SDP)
}

// publish takes a WHIP offer: the stream's tracks are fed from it. A new
// publisher replaces the stream's previous one.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	offer, st, ss := s.begin(w, r, true)
	if ss == nil {
		return
	}
	ss.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		local := st.audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			local = st.video
			st.mu.Lock()
			st.videoSSRC = tr.SSRC()
			st.mu.Unlock()
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			st.mu.Lock()
			current := st.publisher == ss
			st.mu.Unlock()
			if !current {
				return
			}
			// Header extensions were negotiated with the publisher, not
			// with the viewers.
			pkt.Extension, pkt.Extensions = false, nil
			if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
		}
	})
	st.mu.Lock()
	old := st.publisher
	st.publisher = ss
	st.mu.Unlock()
	if old != nil {
		_ = old.pc.Close()
	}
	s.answer(w, r, ss, offer)
}

// play takes a WHEP offer: the viewer gets the stream's tracks.
func (s *Server) play(w http.ResponseWriter, r *http.Request) {
	offer, st, ss := s.begin(w, r, false)
	if ss == nil {
		return
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{st.audio, st.video} {
		sender, err := ss.pc.AddTrack(tr)
		if err != nil {
			_ = ss.pc.Close()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go s.readViewerRTCP(st, sender)
	}
	s.answer(w, r, ss, offer)
}

// readViewerRTCP passes a viewer's keyframe requests on to the publisher.
func (s *Server) readViewerRTCP(st *stream, sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				st.mu.Lock()
				pub, ssrc := st.publisher, st.videoSSRC
				st.mu.Unlock()
				if pub != nil && ssrc != 0 {
					_ = pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
				}
			}
		}
	}
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *session {
	s.mu.Lock()
	ss := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if ss == nil {
		http.Error(w, "no such session", http.StatusNotFound)
	}
	return ss
}

// trickle adds the candidates of an SDP fragment (RFC 8840).
func (s *Server) trickle(w http.ResponseWriter, r *http.Request) {
	if s.cfg.NoTrickle {
		http.Error(w, "trickle ICE not supported", http.StatusMethodNotAllowed)
		return
	}
	ss := s.lookup(w, r)
	if ss == nil {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != ss.etag {
		http.Error(w, "ETag mismatch", http.StatusPreconditionFailed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/trickle-ice-sdpfrag" {
		http.Error(w, "want Content-Type application/trickle-ice-sdpfrag", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "fragment too large", http.StatusRequestEntityTooLarge)
		return
	}
	zero := uint16(0)
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			if err := ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: "candidate:" + c, SDPMLineIndex: &zero}); err != nil {
				http.Error(w, "bad candidate", http.StatusBadRequest)
				return
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// end closes a session (DELETE → 200 OK).
func (s *Server) end(w http.ResponseWriter, r *http.Request) {
	ss := s.lookup(w, r)
	if ss == nil {
		return
	}
	s.drop(ss)
	_ = ss.pc.Close()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) drop(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	if ss.publisher {
		ss.stream.mu.Lock()
		if ss.stream.publisher == ss {
			ss.stream.publisher = nil
		}
		ss.stream.mu.Unlock()
	}
}
