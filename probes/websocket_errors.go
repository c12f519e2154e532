package probes

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The ways a WebSocket opening can end short of a working connection, each
// as what was observed: an HTTP answer other than 101, a connection closed
// with no answer at all, a subprotocol the client did not offer, and bytes
// after the 101 that are not WebSocket frames.

// HTTPStatusError is an HTTP answer other than 101 Switching Protocols to
// the Upgrade request.
type HTTPStatusError struct {
	Status string
	Code   int
	// Headers are the answer's headers that explain a refusal, sanitized.
	Headers map[string]string
	// Body is the start of the answer's body, quoted and sanitized ("" if
	// none came at once).
	Body string
	// Offered are the subprotocols the Upgrade request offered.
	Offered []string
	Addr    string
	After   time.Duration
}

func (e *HTTPStatusError) Error() string {
	s := fmt.Sprintf("server answered HTTP %s instead of 101 Switching Protocols", e.Status)
	if r := e.Headers["X-Websocket-Reject-Reason"]; r != "" {
		s += fmt.Sprintf(" (X-WebSocket-Reject-Reason: %s)", r)
	} else if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// UpgradeClosedError is a connection closed (FIN) or reset (RST) right
// after the Upgrade request, with not one byte of an answer.
type UpgradeClosedError struct {
	Addr  string
	Reset bool
	After time.Duration
	// Offered are the subprotocols the Upgrade request offered.
	Offered []string
}

func (e *UpgradeClosedError) Error() string {
	how := "closed"
	if e.Reset {
		how = "reset"
	}
	return fmt.Sprintf("%s %s the connection after the Upgrade request, without an HTTP answer (%s)", e.Addr, how, roundDur(e.After))
}

// SubprotocolError is a 101 whose Sec-WebSocket-Protocol is not one the
// request offered (RFC 6455 §4.1: the client must fail the connection), or
// that names none though some were offered (browsers then fail it too:
// WHATWG Fetch, "establish a WebSocket connection").
type SubprotocolError struct {
	Offered []string
	Chosen  string
}

func (e *SubprotocolError) Error() string {
	if e.Chosen == "" {
		return fmt.Sprintf("the server switched to WebSocket without choosing any of the subprotocols offered (%s)", strings.Join(e.Offered, ", "))
	}
	offered := "none was offered"
	if len(e.Offered) > 0 {
		offered = "offered: " + strings.Join(e.Offered, ", ")
	}
	return fmt.Sprintf("the server chose subprotocol %q, which the request did not offer (%s; RFC 6455 §4.1)", e.Chosen, offered)
}

// FramingError is what the server sent after its 101 that is not a valid
// WebSocket frame (RFC 6455 §5.2, §5.5, §7.4), with the bytes that came
// instead.
type FramingError struct {
	Why   string
	Bytes string
}

func (e *FramingError) Error() string {
	return fmt.Sprintf("after 101 Switching Protocols the server sent something that is not a WebSocket frame (%s): %s", e.Why, e.Bytes)
}

// explaining are the answer headers that say why an Upgrade went as it
// did, in canonical form: the refusal's reason (WebSocket-Node), the
// credentials wanted, the subprotocols or versions the server speaks,
// where it redirects, and who answered.
var explaining = []string{"X-Websocket-Reject-Reason", "Www-Authenticate", "Sec-Websocket-Protocol", "Sec-Websocket-Version", "Location", "Server", "Via"}

// explainingHeaders keeps those headers, sanitized and cut short; nil when
// there are none.
func explainingHeaders(h http.Header) map[string]string {
	var out map[string]string
	for _, name := range explaining {
		v := strings.Join(h.Values(name), ", ")
		if v == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if name == "Location" {
			v = RedactURI(v) // a redirect may carry the URL's token back
		}
		out[name] = fromNetwork(truncate(v, 200))
	}
	return out
}

// bodyStartMax bounds how much of a refusal's body is kept.
const bodyStartMax = 200

// readBodyStart reads what of the answer's body comes within a moment,
// at most bodyStartMax bytes and never past ctx's deadline: servers often
// say in it why they refused ("Unsupported protocol version").
func readBodyStart(ctx context.Context, conn net.Conn, br *bufio.Reader, h http.Header) string {
	want := bodyStartMax + 1
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n >= 0 && n < want {
		want = n
	}
	if want == 0 {
		return ""
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, want)
	n, _ := io.ReadFull(br, buf)
	if n == 0 {
		return ""
	}
	return quoteCut(buf[:n], bodyStartMax)
}

// peekMax bounds the bytes kept of an answer that is not the protocol's.
const peekMax = 200

// peekBytes quotes head and what the reader already holds after it: the
// first bytes of an answer that is not the protocol's.
func peekBytes(br *bufio.Reader, head []byte) string {
	rest, _ := br.Peek(min(br.Buffered(), peekMax))
	return quoteCut(append(append([]byte(nil), head...), rest...), peekMax)
}
