package probes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
)

// Limits on the head of an HTTP answer (to a WebSocket Upgrade or a proxy
// CONNECT) from a server rtcprobe does not trust: an endless line or an
// endless run of header lines must not grow memory without bound.
const (
	maxHTTPLine    = 8 << 10  // the status line, or one header line
	maxHTTPHead    = 64 << 10 // status line and all header lines together
	maxHTTPHeaders = 100
)

// httpHead is the status line and the header fields of an HTTP answer.
type httpHead struct {
	Code int
	// Status is "404 Not Found", sanitized for display.
	Status string
	Header http.Header
}

// HeadError is an HTTP answer whose head rtcprobe will not read: too
// long, too many lines, or not HTTP. What names the part.
type HeadError struct{ What string }

func (e *HeadError) Error() string { return e.What }

// readHTTPHead reads the head of an HTTP/1.x answer (RFC 9112 §2–§5),
// nothing of its body, holding at most maxHTTPHead bytes however the
// server behaves. Network errors (timeouts included) come back as they
// are; a malformed or oversized head is a *HeadError.
func readHTTPHead(r *bufio.Reader) (*httpHead, error) {
	budget := maxHTTPHead
	line, err := readHTTPLine(r, &budget, "status line")
	if err != nil {
		return nil, err
	}
	head, err := parseStatusLine(line)
	if err != nil {
		return nil, err
	}
	var last string // the previous field name, for obsolete line folding
	for n := 0; ; n++ {
		line, err := readHTTPLine(r, &budget, "header line")
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return head, nil
		}
		if n == maxHTTPHeaders {
			return nil, &HeadError{What: fmt.Sprintf("more than %d header lines", maxHTTPHeaders)}
		}
		if line[0] == ' ' || line[0] == '\t' { // obs-fold: continues the previous field
			if last == "" {
				return nil, &HeadError{What: "header block starts with a continuation line"}
			}
			vs := head.Header[last]
			vs[len(vs)-1] += " " + string(bytes.TrimSpace(line))
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, &HeadError{What: fmt.Sprintf("malformed header line %q", sanitize.Text(truncate(string(line), 40)))}
		}
		last = textproto.CanonicalMIMEHeaderKey(string(name))
		head.Header[last] = append(head.Header[last], string(bytes.TrimSpace(value)))
	}
}

// readHTTPLine reads one CRLF- (or LF-) terminated line of at most
// maxHTTPLine bytes, charged to budget, without its line ending.
func readHTTPLine(r *bufio.Reader, budget *int, what string) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxHTTPLine {
			return nil, &HeadError{What: fmt.Sprintf("%s longer than %d bytes", what, maxHTTPLine)}
		}
		if len(chunk) > *budget {
			return nil, &HeadError{What: fmt.Sprintf("header block larger than %d bytes", maxHTTPHead)}
		}
		*budget -= len(chunk)
		line = append(line, chunk...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

// parseStatusLine reads "HTTP/1.1 101 Switching Protocols".
func parseStatusLine(line []byte) (*httpHead, error) {
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	if !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(proto) != len("HTTP/1.1") {
		return nil, &HeadError{What: fmt.Sprintf("not an HTTP answer: it starts %q", sanitize.Text(truncate(string(line), 40)))}
	}
	code, _, _ := bytes.Cut(rest, []byte(" "))
	n, err := strconv.Atoi(string(code))
	if err != nil || len(code) != 3 || n < 100 {
		return nil, &HeadError{What: fmt.Sprintf("malformed HTTP status line %q", sanitize.Text(truncate(string(line), 40)))}
	}
	return &httpHead{Code: n, Status: fromNetwork(string(rest)), Header: http.Header{}}, nil
}
