package probes

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

func TestFrameReaderStream(t *testing.T) {
	// ChannelData with 5 bytes of data is padded to 12 bytes on a stream;
	// the padding must be consumed so the next frame starts aligned.
	channel := []byte{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}
	stunMsg := []byte{0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	f := newFrameReader(bytes.NewReader(append(append([]byte{}, channel...), stunMsg...)), true)
	tests := []struct {
		want    []byte
		wantErr error
	}{
		{channel[:9], nil},
		{stunMsg, nil},
		{nil, io.EOF},
	}
	for i, tc := range tests {
		got, err := f.next()
		if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, tc.want) {
			t.Fatalf("frame %d: got %x, %v; want %x, %v", i, got, err, tc.want, tc.wantErr)
		}
	}
	bad := newFrameReader(bytes.NewReader([]byte{0xc0, 0, 0, 0, 0x01, 0x01, 0, 0}), true)
	if _, err := bad.next(); err == nil {
		t.Error("a frame starting with 0b11 was accepted")
	}
	if _, err := bad.next(); err == nil {
		t.Error("the stream was read on after it lost its framing")
	}
	if _, err := newFrameReader(bytes.NewReader(channel[:6]), true).next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v, want unexpected EOF", err)
	}
}

// The largest frame a length field can announce is read whole, one
// byte at a time too.
func TestFrameReaderLargest(t *testing.T) {
	big := make([]byte, maxStreamFrame)
	big[2], big[3] = 0xff, 0xff
	for name, r := range map[string]io.Reader{"at once": bytes.NewReader(big), "byte by byte": iotestOneByte{bytes.NewReader(big)}} {
		got, err := newFrameReader(r, true).next()
		if err != nil || len(got) != maxStreamFrame {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, maxStreamFrame)
		}
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) { return o.r.Read(p[:min(1, len(p))]) }

// A deadline that expires in the middle of a frame keeps what was read:
// the rest completes it on the next call, as when a server's answer is
// split across reads with a pause longer than the request timeout.
func TestFrameReaderKeepsPartialFrameAcrossTimeout(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	first, _ := stun.Build(stun.TransactionID, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 1), Port: 4242}, stun.Fingerprint)
	second, _ := stun.Build(stun.TransactionID, stun.BindingSuccess, stun.Fingerprint)
	f := newFrameReader(client, true)
	go func() {
		_, _ = server.Write(first.Raw[:11])
	}()
	_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := f.next(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	_ = client.SetReadDeadline(time.Time{})
	go func() {
		_, _ = server.Write(append(append([]byte{}, first.Raw[11:]...), second.Raw...))
	}()
	for i, want := range [][]byte{first.Raw, second.Raw} {
		got, err := f.next()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frame %d after the timeout: %x, %v; want %x", i, got, err, want)
		}
	}
}

// FuzzFrameReader cuts arbitrary bytes, delivered in arbitrary pieces,
// into frames: never a panic, never a frame larger than its length field
// allows or than the input, and the frames and the bytes left over add up
// to the input.
func FuzzFrameReader(f *testing.F) {
	msg, _ := stun.Build(stun.TransactionID, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 1), Port: 4242}, stun.Fingerprint)
	f.Add(append(append([]byte{}, msg.Raw...), msg.Raw...), uint8(7))
	f.Add([]byte{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}, uint8(1))
	f.Add([]byte{0x00, 0x01, 0xff, 0xff}, uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		r := &pieces{b: in, n: int(piece)%64 + 1}
		fr := newFrameReader(r, true)
		total := 0
		for {
			frame, err := fr.next()
			if err != nil {
				break
			}
			if len(frame) > len(in) || len(frame) > maxStreamFrame {
				t.Fatalf("frame of %d bytes from %d bytes of input", len(frame), len(in))
			}
			size, keep, err := frameSize(frame)
			if err != nil || keep != len(frame) {
				t.Fatalf("frame %x: size %d keep %d err %v", frame, size, keep, err)
			}
			total += size
		}
		if total > len(in) {
			t.Fatalf("%d bytes framed from %d", total, len(in))
		}
	})
}

// pieces hands out b n bytes at a time.
type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(out []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := copy(out[:min(len(out), p.n)], p.b)
	p.b = p.b[n:]
	return n, nil
}
