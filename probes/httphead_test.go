package probes

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
)

func TestReadHTTPHead(t *testing.T) {
	many := func(n int, line string) string { return strings.Repeat(line+"\r\n", n) }
	tests := []struct {
		name   string
		in     string
		code   int
		status string
		header map[string]string
		err    string
	}{
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept:  abc= \r\n\r\nframes",
			code: 101, status: "101 Switching Protocols", header: map[string]string{"Upgrade": "websocket", "Sec-Websocket-Accept": "abc="}},
		{name: "bare LF", in: "HTTP/1.0 200 Connection established\nProxy-Agent: x\n\n", code: 200, status: "200 Connection established",
			header: map[string]string{"Proxy-Agent": "x"}},
		{name: "no reason", in: "HTTP/1.1 404\r\n\r\n", code: 404, status: "404"},
		{name: "folded header", in: "HTTP/1.1 101 OK\r\nX-A: one\r\n two\r\n\r\n", code: 101, status: "101 OK", header: map[string]string{"X-A": "one two"}},
		{name: "control characters", in: "HTTP/1.1 403 Forbidden\x1b[2J\x1b]0;owned\x07\x00\x00\r\n\r\n", code: 403,
			status: `403 Forbidden\x1b[2J\x1b]0;owned\x07`},
		{name: "status line too long", in: "HTTP/1.1 200 " + strings.Repeat("a", maxHTTPLine), err: "status line longer than 8192 bytes"},
		{name: "header line too long", in: "HTTP/1.1 101 OK\r\nX: " + strings.Repeat("a", maxHTTPLine), err: "header line longer than 8192 bytes"},
		{name: "too many header lines", in: "HTTP/1.1 101 OK\r\n" + many(maxHTTPHeaders+1, "X: a") + "\r\n", err: "more than 100 header lines"},
		{name: "head too large", in: "HTTP/1.1 101 OK\r\n" + many(20, "X: "+strings.Repeat("a", 4000)) + "\r\n", err: "header block larger than 65536 bytes"},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH_9.2\r\n", err: `not an HTTP answer: it starts "SSH-2.0-OpenSSH_9.2"`},
		{name: "bad code", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: "malformed HTTP status line"},
		{name: "malformed header", in: "HTTP/1.1 101 OK\r\nno colon here\r\n\r\n", err: "malformed header line"},
		{name: "continuation first", in: "HTTP/1.1 101 OK\r\n leading\r\n\r\n", err: "continuation line"},
		{name: "ends mid-head", in: "HTTP/1.1 101 OK\r\nUpgrade: web", err: io.ErrUnexpectedEOF.Error()},
		{name: "nothing", in: "", err: io.EOF.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, err := readHTTPHead(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if head.Code != tt.code || head.Status != tt.status {
				t.Errorf("got %d %q, want %d %q", head.Code, head.Status, tt.code, tt.status)
			}
			for k, v := range tt.header {
				if got := head.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// endless is a server that never stops sending line.
type endless struct {
	line []byte
	sent int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.line[e.sent%len(e.line):])
		n += c
		e.sent += c
	}
	return n, nil
}

// An endless line or an endless run of lines is refused after a bounded
// read, holding no more than the limits.
func TestReadHTTPHeadEndless(t *testing.T) {
	for name, src := range map[string]*endless{
		"line":  {line: []byte("a")},
		"lines": {line: []byte("X-Endless: a\r\n")},
	} {
		r := io.MultiReader(strings.NewReader("HTTP/1.1 101 Switching Protocols\r\n"), src)
		_, err := readHTTPHead(bufio.NewReader(r))
		var he *HeadError
		if !errors.As(err, &he) {
			t.Errorf("%s: err = %v, want a *HeadError", name, err)
		}
		if src.sent > maxHTTPHead+64<<10 {
			t.Errorf("%s: read %d bytes before refusing", name, src.sent)
		}
	}
}

// FuzzHTTPHead feeds arbitrary answers to the reader the WebSocket Upgrade
// and the proxy CONNECT share: never a panic, never more than the limits
// kept, and never a control character in the status it returns.
func FuzzHTTPHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 403 Forbidden\x1b[2J\x07\x00\r\nX: a\r\n b\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 407\nProxy-Authenticate: Basic\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		head, err := readHTTPHead(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if err != nil {
			return
		}
		if sanitize.HasControl(head.Status) || head.Code < 100 || head.Code > 999 {
			t.Fatalf("status %d %q", head.Code, head.Status)
		}
		kept, lines := 0, 0
		for k, vs := range head.Header {
			for _, v := range vs {
				kept += len(k) + len(v)
				lines++
			}
		}
		if kept > maxHTTPHead || lines > maxHTTPHeaders || kept > len(in) {
			t.Fatalf("kept %d bytes in %d lines from %d bytes", kept, lines, len(in))
		}
	})
}
