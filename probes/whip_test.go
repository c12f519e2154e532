package probes_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestWHIPProtocol drives the WHIP client against real HTTP servers that
// keep or break RFC 9725 in one way each, and checks the failing step is
// named and the figures of a working one are there.
func TestWHIPProtocol(t *testing.T) {
	testenv.CheckGoroutines(t)
	_, turnSrv := stunTURN(t)
	link := probes.ICEServer(turnSrv, probes.UDP)
	withLink := startFanout(t, fanout.Config{ICEServers: []webrtc.ICEServer{link}})
	noTrickle := startFanout(t, fanout.Config{NoTrickle: true})
	withToken := startFanout(t, fanout.Config{Token: "tok-123"})

	// A server that takes the offer and never answers.
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body read, the server notices the client hang up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(silent.Close)
	// A server that answers 201 with an answer but no Location.
	noLocation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "v=0\r\n")
	}))
	t.Cleanup(noLocation.Close)
	// A server whose error page is hostile: control characters and a
	// huge body.
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "\x1b[2J\x1b]0;owned\x07 bad offer "+strings.Repeat("A", 1<<20))
	}))
	t.Cleanup(hostile.Close)
	// A server that refuses DELETE: the session stays.
	keeps := startFanout(t, fanout.Config{})
	var refusedDeletes atomic.Int32
	noDelete := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			refusedDeletes.Add(1)
			http.Error(w, "nope", http.StatusMethodNotAllowed)
			return
		}
		u, _ := url.Parse(keeps.WHIP("k").String())
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(noDelete.Close)

	parse := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	for _, tc := range []struct {
		name  string
		ep    probes.Endpoint
		stage probes.Stage
		code  int
		is    error
		check func(t *testing.T, m probes.Measurement)
	}{
		{name: "link ICE servers used", ep: probes.Endpoint{URL: withLink.WHIP("a")}, check: func(t *testing.T, m probes.Measurement) {
			if m.Metrics["link_ice_servers"] != 1 || m.Metrics["candidates_relay"] < 1 {
				t.Errorf("link_ice_servers %v candidates_relay %v: the TURN server of the Link header was not used", m.Metrics["link_ice_servers"], m.Metrics["candidates_relay"])
			}
			for _, e := range m.Evidence {
				if strings.Contains(e.Value, turnSrv.Password) {
					t.Errorf("evidence %s shows the Link header's credential", e.Name)
				}
			}
		}},
		{name: "405 to PATCH is no trickle, not a failure", ep: probes.Endpoint{URL: noTrickle.WHIP("a")}, check: func(t *testing.T, m probes.Measurement) {
			if m.Metrics["trickle"] != 0 || m.Metrics["packets_sent"] == 0 {
				t.Errorf("trickle %v packets_sent %v", m.Metrics["trickle"], m.Metrics["packets_sent"])
			}
		}},
		{name: "token accepted", ep: probes.Endpoint{URL: withToken.WHIP("a"), Token: "tok-123"}},
		{name: "bad token", ep: probes.Endpoint{URL: withToken.WHIP("a"), Token: "wrong"}, stage: probes.StagePost, code: 401, is: probes.ErrUnauthorized},
		{name: "no token", ep: probes.Endpoint{URL: withToken.WHIP("a")}, stage: probes.StagePost, code: 401, is: probes.ErrUnauthorized},
		{name: "never answers the POST", ep: probes.Endpoint{URL: parse(silent.URL + "/whip")}, stage: probes.StagePost},
		{name: "201 without Location", ep: probes.Endpoint{URL: parse(noLocation.URL + "/whip")}, stage: probes.StageAnswer, code: 201},
		{name: "hostile error body", ep: probes.Endpoint{URL: parse(hostile.URL + "/whip")}, stage: probes.StagePost, code: 400},
		// The media flowed: the refused DELETE is the server's fault,
		// recorded, not the end of the measurement.
		{name: "DELETE refused", ep: probes.Endpoint{URL: parse(noDelete.URL + "/whip/k")}, check: func(t *testing.T, m probes.Measurement) {
			if n := refusedDeletes.Load(); n != 1 {
				t.Errorf("%d DELETEs reached the session's origin, want 1", n)
			}
			if m.Metrics["delete_failed"] != 1 || !strings.Contains(evidenceOf(m, "delete"), "405") || m.Metrics["packets_sent"] == 0 {
				t.Errorf("delete_failed %v, delete evidence %q, packets_sent %v", m.Metrics["delete_failed"], evidenceOf(m, "delete"), m.Metrics["packets_sent"])
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			start := time.Now()
			m := probes.WHIPPublish(ctx, probes.MediaServerConfig{WHIP: tc.ep, Duration: time.Second})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s past a 4s deadline", took)
			}
			if tc.stage == "" {
				if m.Err != nil {
					t.Fatalf("unexpected error: %v", m.Err)
				}
				if _, ok := m.Metrics["post_ms"]; !ok {
					t.Errorf("no post_ms: %v", m.Metrics)
				}
				if tc.check != nil {
					tc.check(t, m)
				}
				return
			}
			var he *probes.HTTPSessionError
			if !errors.As(m.Err, &he) {
				t.Fatalf("error %v (%T), want an *HTTPSessionError at %s", m.Err, m.Err, tc.stage)
			}
			t.Logf("%v", he)
			if he.Stage != tc.stage || he.Code != tc.code {
				t.Errorf("stage %q code %d, want %q %d", he.Stage, he.Code, tc.stage, tc.code)
			}
			if tc.is != nil && !errors.Is(m.Err, tc.is) {
				t.Errorf("error %v is not %v", m.Err, tc.is)
			}
			if msg := m.Err.Error(); sanitize.HasControl(msg) || len(msg) > 400 || strings.Contains(msg, "tok-123") || strings.Contains(msg, "wrong") {
				t.Errorf("error text unsafe or too long (%d bytes): %q", len(msg), msg)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// A Location on another origin gets the PATCH and DELETE without the
// bearer token: the token was given for the endpoint only.
func TestWHIPTokenStaysWithItsOrigin(t *testing.T) {
	testenv.CheckGoroutines(t)
	const token = "tok-origin-9"
	srv := startFanout(t, fanout.Config{})
	target, _ := url.Parse(srv.WHIP("o").String())
	// forward passes a request on to the fan-out server and returns its
	// answer.
	forward := func(w http.ResponseWriter, r *http.Request, path string) *http.Response {
		r.URL.Scheme, r.URL.Host, r.Host, r.URL.Path = target.Scheme, target.Host, target.Host, path
		r.RequestURI = ""
		r.Header.Del("Authorization")
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return nil
		}
		return resp
	}
	copyResp := func(w http.ResponseWriter, resp *http.Response) {
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}
	var (
		mu   sync.Mutex
		seen []string // what the other origin was sent: method and Authorization
	)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if resp := forward(w, r, r.URL.Path); resp != nil {
			copyResp(w, resp)
		}
	}))
	t.Cleanup(elsewhere.Close)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		resp := forward(w, r, target.Path)
		if resp == nil {
			return
		}
		resp.Header.Set("Location", elsewhere.URL+resp.Header.Get("Location"))
		copyResp(w, resp)
	}))
	t.Cleanup(front.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, _ := url.Parse(front.URL + "/whip")
	m := probes.WHIPPublish(ctx, probes.MediaServerConfig{WHIP: probes.Endpoint{URL: u, Token: token}, Duration: time.Second})
	if m.Err != nil {
		t.Fatalf("publish: %v", m.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("the other origin saw %q, want the PATCH and the DELETE", seen)
	}
	for _, s := range seen {
		if strings.Contains(s, token) {
			t.Errorf("the token went to the Location's other origin: %q", s)
		}
	}
	if n := srv.Sessions(); n != 0 {
		t.Errorf("%d sessions left: the DELETE did not reach the server", n)
	}
}
