package probes

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// WHIP (RFC 9725) and WHEP are one exchange over HTTP each: POST an SDP
// offer, get 201 Created with the answer, a Location for the session,
// maybe an ETag and ICE servers in Link headers; PATCH the session with
// trickled candidates; DELETE it at the end. This file speaks that
// exchange; whipcall.go runs the WebRTC side.

// Limits on what a WHIP/WHEP server sends: an answer SDP is a few KiB, an
// error body is shown cut to a line.
const (
	maxSDPBody      = 256 << 10
	maxHTTPHeader   = 64 << 10
	maxLinkServers  = 16
	maxErrorBodyLen = 120
)

// Endpoint is a WHIP or WHEP endpoint: its URL and the bearer token it
// wants. The token is never shown; Name is the URL without secrets.
type Endpoint struct {
	URL   *url.URL
	Token string
}

// Name is the endpoint's URL as shown in reports: no userinfo, query
// values or fragment.
func (e Endpoint) Name() string {
	if e.URL == nil {
		return ""
	}
	return redactURL(e.URL)
}

// ParseEndpoint validates an http:// or https:// WHIP/WHEP URL; errors
// never quote query values or userinfo.
func ParseEndpoint(raw string) (*url.URL, error) {
	return parseURL(raw, "want an http:// or https:// URL",
		"credentials in the URL are not allowed: give the bearer token ({option:whip_token})", "http", "https")
}

// Stages of a WHIP/WHEP session, named in errors.
const (
	StagePost    Stage = "POST offer"
	StageAnswer  Stage = "answer"
	StageTrickle Stage = "trickle PATCH"
	StageDelete  Stage = "DELETE"
)

// HTTPSessionError is a WHIP/WHEP step that failed: the server's status
// (Code 0 when none came), what it said, or the transport error.
type HTTPSessionError struct {
	Proto string // "WHIP" or "WHEP"
	Stage Stage
	URL   string // redacted
	Code  int
	// Status is the status line's text and the start of the body,
	// sanitized.
	Status string
	Err    error
}

func (e *HTTPSessionError) Error() string {
	switch {
	case e.Code != 0 && e.Err != nil:
		return fmt.Sprintf("%s %s to %s: %s: %v", e.Proto, e.Stage, e.URL, e.Status, e.Err)
	case e.Code != 0:
		return fmt.Sprintf("%s %s to %s: the server answered %s", e.Proto, e.Stage, e.URL, e.Status)
	}
	return fmt.Sprintf("%s %s to %s: %v", e.Proto, e.Stage, e.URL, e.Err)
}
func (e *HTTPSessionError) Unwrap() error { return e.Err }

// ErrNoTrickle: the server answered a trickle PATCH with 405 or 501; RFC
// 9725 allows a server not to support trickle ICE. Not a failure.
var ErrNoTrickle = errors.New("the server does not support trickle ICE")

// httpSession is one WHIP or WHEP session on the server.
type httpSession struct {
	proto  string
	ep     Endpoint
	client *http.Client
	// Set by post.
	location *url.URL
	etag     string
	servers  []webrtc.ICEServer
	// linkNames are the Link ICE servers as shown (no credentials).
	linkNames []string
	// contentType of the answer, for evidence.
	contentType string
}

// HTTPConfig sets how WHIP/WHEP requests are made.
type HTTPConfig struct {
	// TLS is the trust for https:; nil means the system's roots.
	TLS *tls.Config
	// Proxy is the HTTP proxy; nil means the environment's (never for
	// loopback).
	Proxy *url.URL
}

func newHTTPSession(proto string, ep Endpoint, cfg HTTPConfig) *httpSession {
	tr := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if isLoopbackHost(r.URL.Hostname()) {
				return nil, nil
			}
			p, _ := ResolveProxy(cfg.Proxy, r.URL.Scheme, r.URL.Host)
			return p, nil
		},
		TLSClientConfig:        cfg.TLS,
		MaxResponseHeaderBytes: maxHTTPHeader,
		DialContext:            (&net.Dialer{}).DialContext,
		ForceAttemptHTTP2:      true,
	}
	return &httpSession{proto: proto, ep: ep, client: &http.Client{
		Transport: tr,
		// A redirect would carry the bearer token elsewhere: WHIP does not
		// use them (RFC 9725 §4.5 allows 307 only before the session).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// sameOrigin: the token goes only where it was given for. A Location on
// another host, or the same host over plain http, is the server's to
// name, but not a place to send the token (as browsers drop
// Authorization on a redirect to another origin).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// close drops idle connections.
func (s *httpSession) close() { s.client.CloseIdleConnections() }

func (s *httpSession) fail(stage Stage, u *url.URL, code int, status string, err error) error {
	return &HTTPSessionError{Proto: s.proto, Stage: stage, URL: redactURL(u), Code: code, Status: status, Err: err}
}

// do sends one request and reads at most maxSDPBody of the answer's body.
func (s *httpSession) do(ctx context.Context, method string, u *url.URL, ctype string, body []byte, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if s.ep.Token != "" && sameOrigin(u, s.ep.URL) {
		req.Header.Set("Authorization", "Bearer "+s.ep.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, query values included
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer before the deadline: %w", context.Cause(ctx))
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSDPBody+1))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("the body did not arrive before the deadline: %w", context.Cause(ctx))
		}
		return resp, nil, err
	}
	if len(data) > maxSDPBody {
		return resp, data[:maxSDPBody], errBodyTooLarge
	}
	return resp, data, nil
}

var errBodyTooLarge = fmt.Errorf("body larger than %d KiB", maxSDPBody>>10)

// statusText is the status and the start of the body, for an error.
func statusText(resp *http.Response, body []byte) string {
	out := fromNetwork(resp.Status)
	if b := strings.TrimSpace(string(body)); b != "" {
		out += " (" + fromNetwork(truncate(strings.Join(strings.Fields(b), " "), maxErrorBodyLen)) + ")"
	}
	return out
}

// post sends the offer and returns the answer: 201 Created with a
// Location, as RFC 9725 §4.2 asks.
func (s *httpSession) post(ctx context.Context, offer string) (string, error) {
	resp, body, err := s.do(ctx, http.MethodPost, s.ep.URL, "application/sdp", []byte(offer), nil)
	if resp == nil {
		return "", s.fail(StagePost, s.ep.URL, 0, "", err)
	}
	if err != nil && resp.StatusCode == http.StatusCreated {
		return "", s.fail(StageAnswer, s.ep.URL, resp.StatusCode, fromNetwork(resp.Status), err)
	}
	if resp.StatusCode != http.StatusCreated {
		st := statusText(resp, body)
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return "", s.fail(StagePost, s.ep.URL, resp.StatusCode, st, ErrUnauthorized)
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return "", s.fail(StagePost, s.ep.URL, resp.StatusCode, st, errors.New("want 201 Created (RFC 9725 §4.2)"))
		}
		return "", s.fail(StagePost, s.ep.URL, resp.StatusCode, st, nil)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", s.fail(StageAnswer, s.ep.URL, resp.StatusCode, fromNetwork(resp.Status), errors.New("201 Created without a Location header: the session cannot be trickled to or ended (RFC 9725 §4.2)"))
	}
	if s.location, err = s.ep.URL.Parse(loc); err != nil {
		return "", s.fail(StageAnswer, s.ep.URL, resp.StatusCode, fromNetwork(resp.Status), fmt.Errorf("the Location %q is not a URL", fromNetwork(truncate(loc, 80))))
	}
	s.etag = resp.Header.Get("ETag")
	s.contentType = fromNetwork(resp.Header.Get("Content-Type"))
	s.servers, s.linkNames = parseLinkICEServers(resp.Header.Values("Link"))
	if !bytes.Contains(body, []byte("v=0")) {
		return "", s.fail(StageAnswer, s.ep.URL, resp.StatusCode, fromNetwork(resp.Status), errors.New("the 201 body is not an SDP answer"))
	}
	return string(body), nil
}

// patch sends trickled candidates (an SDP fragment, RFC 8840) with
// If-Match when the server gave an ETag. A 405 or 501 is ErrNoTrickle.
func (s *httpSession) patch(ctx context.Context, frag string) error {
	h := http.Header{}
	if s.etag != "" {
		h.Set("If-Match", s.etag)
	}
	resp, body, err := s.send(ctx, StageTrickle, http.MethodPatch, "application/trickle-ice-sdpfrag", []byte(frag), h)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented:
		return s.fail(StageTrickle, s.location, resp.StatusCode, fromNetwork(resp.Status), ErrNoTrickle)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	}
	return s.fail(StageTrickle, s.location, resp.StatusCode, statusText(resp, body), nil)
}

// send makes a request to the session's Location: an error is the
// step's, with the status when one came; an error body too large to read
// whole keeps its status.
func (s *httpSession) send(ctx context.Context, stage Stage, method, ctype string, body []byte, h http.Header) (*http.Response, []byte, error) {
	resp, data, err := s.do(ctx, method, s.location, ctype, body, h)
	if errors.Is(err, errBodyTooLarge) {
		err = nil
	}
	if resp == nil || err != nil {
		code, st := 0, ""
		if resp != nil {
			code, st = resp.StatusCode, fromNetwork(resp.Status)
		}
		return nil, nil, s.fail(stage, s.location, code, st, err)
	}
	return resp, data, nil
}

// delete ends the session; RFC 9725 §4.3 wants 200 OK.
func (s *httpSession) delete(ctx context.Context) error {
	if s.location == nil {
		return nil
	}
	resp, body, err := s.send(ctx, StageDelete, http.MethodDelete, "", nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return s.fail(StageDelete, s.location, resp.StatusCode, statusText(resp, body), nil)
	}
	return nil
}

// ErrUnauthorized: the server refused the bearer token (or its absence).
var ErrUnauthorized = errors.New("the server refused the bearer token")

// parseLinkICEServers reads RFC 9725 §4.6 Link headers:
// <turn:host?transport=udp>; rel="ice-server"; username="u";
// credential="p"; credential-type="password". Other links are ignored; at
// most maxLinkServers are kept. names are the URIs as shown.
func parseLinkICEServers(values []string) (servers []webrtc.ICEServer, names []string) {
	for _, v := range values {
		for _, link := range splitLinks(v) {
			if len(servers) == maxLinkServers {
				return servers, names
			}
			uri, params, ok := parseLink(link)
			if !ok || !strings.EqualFold(params["rel"], "ice-server") {
				continue
			}
			if _, err := ParseServer(uri); err != nil {
				continue
			}
			s := webrtc.ICEServer{URLs: []string{uri}}
			if u, ok := params["username"]; ok {
				s.Username, s.Credential = u, params["credential"]
			}
			servers = append(servers, s)
			names = append(names, RedactURI(uri))
		}
	}
	return servers, names
}

// splitLinks splits a Link header value at the commas between links
// (not those inside <…> or quotes).
func splitLinks(v string) []string {
	var (
		out           []string
		start         int
		inURI, quoted bool
	)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && !inURI:
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case c == '<' && !quoted:
			inURI = true
		case c == '>' && !quoted:
			inURI = false
		case c == ',' && !quoted && !inURI:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// parseLink reads `<uri>; k="v"; k2=v2`.
func parseLink(link string) (uri string, params map[string]string, ok bool) {
	link = strings.TrimSpace(link)
	if !strings.HasPrefix(link, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return "", nil, false
	}
	uri, rest := link[1:end], link[end+1:]
	params = map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k == "" {
			continue
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		params[strings.ToLower(k)] = v
	}
	return uri, params, true
}

// withDeadline bounds one HTTP step inside ctx: a server that never
// answers the POST must not hold the whole check.
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
