package probes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A data frame of any announced size costs at most maxWSPayload: the rest
// is read and dropped, and the next frame is found after it.
func TestWSReadFrameBounds(t *testing.T) {
	const size = 1 << 20
	var stream bytes.Buffer
	stream.Write([]byte{0x02, 127})
	_ = binary.Write(&stream, binary.BigEndian, uint64(size))
	stream.Write(bytes.Repeat([]byte{'x'}, size))
	stream.Write([]byte{0x8A, 3, 'p', 'o', 'n'}) // a pong after it
	r := bufio.NewReader(&stream)
	op, payload, err := wsReadFrame(r)
	if err != nil || op != 0x2 || len(payload) != maxWSPayload {
		t.Fatalf("big frame: opcode %#x, %d bytes kept, %v; want %d kept", op, len(payload), err, maxWSPayload)
	}
	op, payload, err = wsReadFrame(r)
	if err != nil || op != 0xA || string(payload) != "pon" {
		t.Fatalf("frame after the big one: %#x %q %v", op, payload, err)
	}

	for name, frame := range map[string][]byte{
		"control frame over 125 bytes": append([]byte{0x89, 126, 0, 200}, make([]byte, 200)...),
		"length with the top bit set":  {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1},
	} {
		if _, _, err := wsReadFrame(bufio.NewReader(bytes.NewReader(frame))); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "EOF") {
			t.Errorf("%s: %v, want it refused before reading the payload", name, err)
		}
	}
}

// A server's first message and close reason are quoted and sanitized by
// the one sanitizer, and cut.
func TestQuoteCut(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{`{"type":"OPEN"}`, 200, `"{\"type\":\"OPEN\"}"`},
		{"bye\x1b[2J\x07 \\ \u202e", 200, `"bye\x1b[2J\x07 \\ \u202e"`},
		{"0123456789", 4, `"0123"…`},
		{"né\x00", 2, `"n"…`},
	} {
		if got := quoteCut([]byte(tt.in), tt.max); got != tt.want {
			t.Errorf("quoteCut(%q, %d) = %s, want %s", tt.in, tt.max, got, tt.want)
		}
	}
}

// flood is an endless stream of 1 KiB binary frames, counting what was
// read of it.
type flood struct{ n int }

func (f *flood) Read(p []byte) (int, error) {
	frame := append([]byte{0x82, 126, 0x04, 0x00}, bytes.Repeat([]byte{'x'}, 1024)...)
	for i := range p {
		p[i] = frame[(f.n+i)%len(frame)]
	}
	f.n += len(p)
	return len(p), nil
}

// The wait for a pong reads at most maxPingRead of a server that floods
// the connection instead of answering (and a buffer's worth ahead), and
// the evidence names that bound.
func TestWSPingFloodBounded(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() { _, _ = io.Copy(io.Discard, server) }() // the ping
	f := &flood{}
	br := bufio.NewReader(f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := wsPing(ctx, client, br, time.Minute)
	if out.err == nil || !strings.Contains(out.err.Error(), "none among the first 1 MiB") || out.rtt != 0 {
		t.Errorf("err %v rtt %s, want no pong among the first 1 MiB", out.err, out.rtt)
	}
	if f.n > maxPingRead+br.Size() {
		t.Errorf("read %d bytes of the flood, want at most %d", f.n, maxPingRead+br.Size())
	}
}
