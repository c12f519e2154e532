package probes

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
)

// WebSocketConfig sets how a signaling endpoint is probed.
type WebSocketConfig struct {
	// Proxy is the HTTP proxy to tunnel through (--proxy); nil means
	// HTTPS_PROXY/HTTP_PROXY from the environment, if any.
	Proxy *url.URL
	// TLS configures wss: (CA pool, --insecure); nil means system roots.
	TLS *tls.Config
	// PingTimeout bounds the wait for a pong (default 1s); servers need
	// not answer pings, so a missing pong is evidence, not an error.
	PingTimeout time.Duration
	// Protocols are the subprotocols offered in Sec-WebSocket-Protocol
	// (--ws-protocol), in order of preference; the server must choose one
	// of them (RFC 6455 §4.1).
	Protocols []string
}

// ParseWebSocketURL validates a ws:// or wss:// URL; errors name it.
func ParseWebSocketURL(raw string) (*url.URL, error) {
	u, err := parseURL(raw, "want a ws:// or wss:// URL", "credentials in the URL are not allowed (user:password@ before the host)", "ws", "wss")
	if err != nil {
		return nil, err
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return nil, &URIError{URI: redactURL(u), Err: errors.New("a WebSocket URL has no #fragment (RFC 6455 §3)")}
	}
	return u, nil
}

// ParseWSProtocols reads a comma-separated list of WebSocket subprotocols:
// each an HTTP token (RFC 6455 §4.1, RFC 9110 §5.6.2), each named once.
func ParseWSProtocols(text string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(text, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			return nil, errors.New("want subprotocol names like janus-protocol, comma-separated, none empty")
		case strings.IndexFunc(p, func(r rune) bool { return !isTokenChar(r) }) >= 0:
			return nil, fmt.Errorf("%q is not a subprotocol name (an HTTP token: letters, digits and !#$%%&'*+-.^_`|~)", p)
		case slices.Contains(out, p):
			return nil, fmt.Errorf("%q named twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// isTokenChar: RFC 9110 §5.6.2 tchar.
func isTokenChar(r rune) bool {
	return r < 0x7f && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// parseURL parses raw and checks the scheme, host, port and that no
// userinfo rides in it; errors quote the URL redacted.
func parseURL(raw, wantScheme, noUserinfo string, schemes ...string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole input, tokens included: keep only the
		// reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &URIError{URI: RedactURI(raw), Err: err}
	}
	if !slices.Contains(schemes, u.Scheme) {
		return nil, &URIError{URI: redactURL(u), Err: errors.New(wantScheme)}
	}
	if u.Hostname() == "" {
		return nil, &URIError{URI: redactURL(u), Err: errors.New("missing host")}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, &URIError{URI: redactURL(u), Err: fmt.Errorf("invalid port %q", p)}
		}
	}
	if u.User != nil {
		return nil, &URIError{URI: redactURL(u), Err: errors.New(noUserinfo)}
	}
	return u, nil
}

// WebSocketName is the URL as shown in reports: without userinfo, query
// values or fragment, where signaling tokens ride.
func WebSocketName(u *url.URL) string { return redactURL(u) }

// WebSocket opens a WebSocket to u step by step and times each step:
// DNS (dns_ms, direct connections to a name only), TCP connect
// (connect_ms, to the proxy when one is used), proxy CONNECT, TLS
// (tls_ms, cert_days_left), the HTTP Upgrade (upgrade_ms) and a ping
// (ping_rtt_ms, when the server answers). proxy_used is 1 when the
// connection went through a proxy; evidence "proxy" says which.
// closed_by_server is 1 when the server closed the WebSocket right after
// accepting it; evidence first_message and close say what it sent. A
// ws:// URL on a port that speaks TLS gives a *TLSPortError.
func WebSocket(ctx context.Context, u *url.URL, cfg WebSocketConfig) Measurement {
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = time.Second
	}
	var m Measurement
	secure := u.Scheme == "wss"
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[secure]
	}
	host := u.Hostname()
	addr := net.JoinHostPort(host, port)
	t := Target{Transport: TCP}
	t.Server.URI.Host = host
	t.Server.URI.Port, _ = strconv.Atoi(port)

	conn, err := wsOpen(ctx, &m, cfg, u, addr)
	if err != nil {
		m.Err = err
		return m
	}
	defer conn.Close()
	// The deadline holds in the socket itself; the AfterFunc covers a
	// cancellation without one.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	start := time.Now()
	br, chosen, err := wsUpgrade(ctx, conn, u, addr, cfg.Protocols)
	if err != nil {
		var closed *UpgradeClosedError
		m.Err = classify(err, t, start, StageUpgrade)
		switch {
		case !secure && ctx.Err() == nil && speaksTLS(ctx, addr, host):
			m.Err = &TLSPortError{Addr: addr, Err: m.Err}
		case errors.As(m.Err, &closed) && ctx.Err() == nil:
			wsFollowUpGET(ctx, cfg, u, addr)
		}
		return m
	}
	m.SetMetric("upgrade_ms", ms(time.Since(start)))
	if chosen != "" {
		m.AddEvidence("subprotocol", chosen)
	}

	after := wsPing(ctx, conn, br, cfg.PingTimeout)
	if after.bad != nil {
		m.Err = after.bad
		return m
	}
	switch {
	case after.err == nil:
		m.SetMetric("ping_rtt_ms", ms(after.rtt))
	case ctx.Err() == nil:
		m.AddEvidence("ping", "no pong: "+after.err.Error())
	}
	if after.first != "" {
		m.AddEvidence("first_message", after.first)
	}
	m.SetMetric("closed_by_server", boolMetric(after.closed))
	if after.closed {
		m.AddEvidence("close", after.close)
	}
	// A polite close; the server's answer is not waited for.
	_ = conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_ = wsWriteFrame(conn, 0x8, []byte{0x03, 0xe8})
	return m
}

// wsOpen opens the connection to the server of u, through the proxy and
// TLS when they apply, recording their steps in m.
func wsOpen(ctx context.Context, m *Measurement, cfg WebSocketConfig, u *url.URL, addr string) (net.Conn, error) {
	secure, host := u.Scheme == "wss", u.Hostname()
	t := Target{Transport: TCP}
	t.Server.URI.Host = host
	_, port, _ := net.SplitHostPort(addr)
	t.Server.URI.Port, _ = strconv.Atoi(port)
	begin := time.Now()
	conn, err := wsConnect(ctx, m, cfg, secure, addr, host)
	if err != nil {
		return nil, classify(err, t, begin, StageFirstAnswer)
	}
	if !secure {
		return conn, nil
	}
	start := time.Now()
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tcfg = cfg.TLS.Clone()
	}
	if tcfg.ServerName == "" {
		tcfg.ServerName = host
	}
	tc := tls.Client(conn, tcfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, classify(err, t, start, StageTLS)
	}
	m.SetMetric("tls_ms", ms(time.Since(start)))
	st := tc.ConnectionState()
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		m.SetMetric("cert_days_left", math.Floor(time.Until(leaf.NotAfter).Hours()/24))
		m.AddEvidence("certificate", fmt.Sprintf("%s, issued by %s, valid until %s", fromNetwork(leaf.Subject.CommonName), fromNetwork(leaf.Issuer.CommonName), leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	chain := "verified"
	if tcfg.InsecureSkipVerify {
		chain = "not verified ({option:insecure})"
	}
	m.AddEvidence("tls", fmt.Sprintf("%s, chain %s", tls.VersionName(st.Version), chain))
	return tc, nil
}

// wsConnect opens the TCP connection, directly or through a proxy, and
// records dns_ms, connect_ms, proxy_used and the proxy evidence.
func wsConnect(ctx context.Context, m *Measurement, cfg WebSocketConfig, secure bool, addr, host string) (net.Conn, error) {
	scheme := "http"
	if secure {
		scheme = "https"
	}
	if proxy, from := ResolveProxy(cfg.Proxy, scheme, addr); proxy != nil {
		m.SetMetric("proxy_used", 1)
		m.AddEvidence("proxy", fmt.Sprintf("via %s (from %s)", redactURL(proxy), from))
		start := time.Now()
		conn, err := dialProxy(ctx, proxy, addr)
		if err == nil {
			m.SetMetric("connect_ms", ms(time.Since(start)))
		}
		return conn, err
	}
	m.SetMetric("proxy_used", 0)
	m.AddEvidence("proxy", "none (direct)")
	_, port, _ := net.SplitHostPort(addr)
	addrs := []string{addr}
	if net.ParseIP(host) == nil {
		start := time.Now()
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(ips) == 0 {
			if ctx.Err() != nil {
				return nil, &TimeoutError{Addr: host, Transport: TCP, Stage: StageDNS, After: time.Since(start)}
			}
			return nil, &DNSError{Host: host, Err: err}
		}
		m.SetMetric("dns_ms", ms(time.Since(start)))
		addrs = addrs[:0]
		for _, ip := range ips {
			addrs = append(addrs, net.JoinHostPort(ip.IP.String(), port))
		}
	}
	// Like a browser, try each address in turn (an AAAA record with no
	// IPv6 route must not hide a working IPv4 one).
	var (
		d       net.Dialer
		lastErr error
	)
	start := time.Now()
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, "tcp", a)
		if err == nil {
			m.SetMetric("connect_ms", ms(time.Since(start)))
			m.AddEvidence("address", a)
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // RFC 6455 §1.3

// wsUpgrade sends the opening handshake (RFC 6455 §4.1), offering
// protocols, and checks the answer, returning the reader that holds any
// bytes after it and the subprotocol the server chose.
func wsUpgrade(ctx context.Context, conn net.Conn, u *url.URL, addr string, protocols []string) (*bufio.Reader, string, error) {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	key := base64.StdEncoding.EncodeToString(nonce)
	path := u.RequestURI()
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Opaque: path}, Host: u.Host, Header: http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-WebSocket-Key":     {key},
		"Sec-WebSocket-Version": {"13"},
		"User-Agent":            {"rtcprobe"},
	}}
	if len(protocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(protocols, ", "))
	}
	start := time.Now()
	if err := req.Write(conn); err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(conn)
	resp, err := readHTTPHead(br)
	if err != nil {
		var ne net.Error
		var head *HeadError
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return nil, "", err
		case errors.As(err, &head):
			return nil, "", &ProtocolError{Addr: addr, Err: fmt.Errorf("no HTTP answer to the Upgrade request: %w", err)}
		case br.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
			return nil, "", &UpgradeClosedError{Addr: addr, Reset: errors.Is(err, syscall.ECONNRESET), After: time.Since(start), Offered: protocols}
		}
		return nil, "", &ProtocolError{Addr: addr, Err: fmt.Errorf("no HTTP answer to the Upgrade request: %w", err)}
	}
	if resp.Code != http.StatusSwitchingProtocols {
		return nil, "", &HTTPStatusError{Status: resp.Status, Code: resp.Code, Headers: explainingHeaders(resp.Header),
			Body: readBodyStart(ctx, conn, br, resp.Header), Offered: protocols, Addr: addr, After: time.Since(start)}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, "", &ProtocolError{Addr: addr, Err: fmt.Errorf("wrong Sec-WebSocket-Accept %q", fromNetwork(got))}
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, "", &ProtocolError{Addr: addr, Err: errors.New("101 without Upgrade: websocket")}
	}
	chosen := strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Protocol"))
	if chosen != "" && !slices.Contains(protocols, chosen) || chosen == "" && len(protocols) > 0 {
		return nil, "", &SubprotocolError{Offered: protocols, Chosen: fromNetwork(chosen)}
	}
	o := Observation{Step: string(StageUpgrade), Transport: "tcp", To: WebSocketName(u), Outcome: OutcomeAnswered,
		AfterMS: ms(time.Since(start)), Code: resp.Code, Reason: resp.Status, Headers: explainingHeaders(resp.Header)}
	Observe(ctx, o)
	return br, chosen, nil
}

// afterUpgrade is what the server did right after the upgrade: answered
// the ping (rtt), sent a first message, closed the WebSocket.
type afterUpgrade struct {
	rtt    time.Duration
	err    error  // why there was no pong
	first  string // the first data message, quoted and cut short
	closed bool
	close  string // the close frame's code and reason
	// bad is what came instead of a valid frame.
	bad *FramingError
}

// firstMessageMax bounds how much of a server's first message is kept as
// evidence.
const firstMessageMax = 200

// wsPing sends a ping and waits for the pong with the same payload,
// noting the first data message the server pushes meanwhile and whether
// it closes the WebSocket (a server that refuses a client often says why
// in a message, then closes).
func wsPing(ctx context.Context, conn net.Conn, br *bufio.Reader, wait time.Duration) afterUpgrade {
	var out afterUpgrade
	payload := make([]byte, 8)
	_, _ = rand.Read(payload)
	// The wait for the pong never outlasts the check's deadline.
	checkDeadline, _ := ctx.Deadline()
	deadline := time.Now().Add(wait)
	if !checkDeadline.IsZero() && checkDeadline.Before(deadline) {
		deadline = checkDeadline
	}
	if err := ctx.Err(); err != nil {
		out.err = err
		return out
	}
	_ = conn.SetDeadline(deadline)
	defer conn.SetDeadline(checkDeadline)
	start := time.Now()
	// A server that already closed may refuse the ping: what it sent
	// before closing is still to be read.
	writeErr := wsWriteFrame(conn, 0x9, payload)
	// What the server pushes meanwhile is read and dropped, up to a point.
	r := &io.LimitedReader{R: br, N: maxPingRead}
	for {
		op, data, err := wsReadFrame(r)
		var invalid *frameError
		if errors.As(err, &invalid) {
			out.bad = &FramingError{Why: invalid.why, Bytes: peekBytes(br, invalid.head)}
			return out
		}
		if err != nil {
			var ne net.Error
			switch {
			case writeErr != nil:
				out.err = writeErr
			case errors.As(err, &ne) && ne.Timeout():
				out.err = fmt.Errorf("none within %s (the server may not answer pings)", wait)
			case r.N == 0:
				out.err = fmt.Errorf("none among the first %d MiB the server sent after the ping", maxPingRead>>20)
			default:
				out.err = err
			}
			return out
		}
		switch {
		case op == 0xA && string(data) == string(payload) && writeErr == nil:
			out.rtt = time.Since(start)
			return out
		case op == 0x8:
			code, reason, why := parseClose(data)
			if why != "" {
				out.bad = &FramingError{Why: why, Bytes: quoteCut(data, 64)}
				return out
			}
			out.closed, out.close = true, describeClose(data)
			out.err = errors.New("the server closed the WebSocket")
			Observe(ctx, Observation{Step: "WebSocket close", Transport: "tcp", Outcome: OutcomeErrorResponse, AfterMS: ms(time.Since(start)), Code: code, Reason: reason})
			return out
		case (op == 0x1 || op == 0x2) && out.first == "":
			out.first = quoteCut(data, firstMessageMax)
		}
	}
}

// parseClose reads a close frame's payload: a code, if any, and a reason;
// why says what makes it invalid (RFC 6455 §5.5.1, §7.4).
func parseClose(data []byte) (code int, reason, why string) {
	switch {
	case len(data) == 0:
		return 0, "", ""
	case len(data) == 1:
		return 0, "", "a close frame with a 1-byte body (RFC 6455 §5.5.1)"
	}
	code = int(binary.BigEndian.Uint16(data[:2]))
	if !validCloseCode(code) {
		return code, "", fmt.Sprintf("close code %d is not one an endpoint may send (RFC 6455 §7.4)", code)
	}
	if len(data) > 2 {
		reason = fromNetwork(string(data[2:]))
	}
	return code, reason, ""
}

// validCloseCode: the codes RFC 6455 §7.4.1 defines for sending, those
// registered since (1012-1014), and the ranges for libraries (3000-3999)
// and applications (4000-4999).
func validCloseCode(c int) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014, c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// describeClose reads a close frame's payload: a 2-byte code and a reason.
func describeClose(data []byte) string {
	if len(data) < 2 {
		return "no status code"
	}
	code := binary.BigEndian.Uint16(data[:2])
	if len(data) == 2 {
		return fmt.Sprintf("code %d", code)
	}
	return fmt.Sprintf("code %d, reason %s", code, quoteCut(data[2:], firstMessageMax))
}

// quoteCut quotes at most max bytes of what a server sent, quotes and
// backslashes escaped as in a Go string literal and everything else that
// could reach a terminal raw escaped by the sanitizer.
func quoteCut(b []byte, max int) string {
	s, cut := string(b), ""
	if len(s) > max {
		s, cut = strings.TrimSuffix(truncate(s, max), "…"), "…"
	}
	return `"` + sanitize.Text(quoteEscaper.Replace(s)) + `"` + cut
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// TLSPortError means a ws:// URL reached a port that speaks TLS: the
// plain HTTP Upgrade got no HTTP answer, but a TLS handshake does.
type TLSPortError struct {
	Addr string
	Err  error
}

func (e *TLSPortError) Error() string {
	return fmt.Sprintf("%s speaks TLS, not plain HTTP: %v", e.Addr, e.Err)
}
func (e *TLSPortError) Unwrap() error { return e.Err }

// speaksTLS tells whether addr completes a TLS handshake. It only
// diagnoses a ws:// URL aimed at a TLS port, so the certificate is not
// checked and nothing is sent over the connection.
func speaksTLS(ctx context.Context, addr, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // a diagnosis: nothing is sent
	return tc.HandshakeContext(ctx) == nil
}

// wsWriteFrame writes one final, masked client frame (RFC 6455 §5.2).
func wsWriteFrame(w io.Writer, opcode byte, payload []byte) error {
	if len(payload) > 125 {
		return errors.New("control frame payload too long")
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	frame := append([]byte{0x80 | opcode, 0x80 | byte(len(payload))}, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := w.Write(frame)
	return err
}

// maxPingRead is how much a wait for a pong reads of what the server
// pushes meanwhile before it gives up.
const maxPingRead = 1 << 20

// maxWSPayload is the most of one data frame's payload rtcprobe keeps;
// the rest is read and dropped. Control frames carry at most 125 bytes
// (RFC 6455 §5.5), and fragments are never joined into a message, so a
// frame or a message of any announced size costs at most this much.
const maxWSPayload = 64 << 10

// frameError is a frame header no WebSocket server may send.
type frameError struct {
	why  string
	head []byte
}

func (e *frameError) Error() string { return e.why }

// invalidFrameHead says what is wrong with a frame's first two bytes, if
// anything: rtcprobe negotiates no extension, so no RSV bit may be set
// (RFC 6455 §5.2), opcodes 3-7 and 11-15 are reserved (§5.2), control
// frames are never fragmented (§5.5) and a server never masks (§5.1).
func invalidFrameHead(h [2]byte) string {
	op := h[0] & 0x0f
	switch {
	case h[0]&0x70 != 0:
		return "reserved bits set with no extension negotiated (RFC 6455 §5.2)"
	case op >= 0x3 && op <= 0x7 || op >= 0xB:
		return fmt.Sprintf("reserved opcode %#x (RFC 6455 §5.2)", op)
	case op >= 0x8 && h[0]&0x80 == 0:
		return "a fragmented control frame (RFC 6455 §5.5)"
	case h[1]&0x80 != 0:
		return "a masked frame from the server (RFC 6455 §5.1)"
	}
	return ""
}

// wsReadFrame reads one frame. Fragments are returned as they come, which
// is enough to find a control frame; a data frame's payload is cut to
// maxWSPayload.
func wsReadFrame(r io.Reader) (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	opcode = h[0] & 0x0f
	if why := invalidFrameHead(h); why != "" {
		return 0, nil, &frameError{why: why, head: h[:]}
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
		if n > math.MaxInt64 {
			return 0, nil, errors.New("frame length with the most significant bit set (RFC 6455 §5.2)")
		}
	}
	if opcode >= 0x8 && n > 125 {
		return 0, nil, fmt.Errorf("control frame of %d bytes (at most 125 allowed)", n)
	}
	var mask [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, min(n, maxWSPayload))
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if rest := int64(n - uint64(len(payload))); rest > 0 {
		if _, err := io.CopyN(io.Discard, r, rest); err != nil {
			return 0, nil, err
		}
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return opcode, payload, nil
}
