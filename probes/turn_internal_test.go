package probes

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

func TestReadFrameFromStream(t *testing.T) {
	// ChannelData with 5 bytes of data is padded to 12 bytes on a stream;
	// the padding must be consumed so the next frame starts aligned.
	channel := []byte{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}
	stunMsg := []byte{0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	r := bytes.NewReader(append(append([]byte{}, channel...), stunMsg...))
	buf := make([]byte, 1500)
	tests := []struct {
		want    []byte
		wantErr error
	}{
		{channel[:9], nil},
		{stunMsg, nil},
		{nil, io.EOF},
	}
	for i, tc := range tests {
		got, err := readFrame(r, true, buf)
		if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, tc.want) {
			t.Fatalf("frame %d: got %x, %v; want %x, %v", i, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := readFrame(bytes.NewReader([]byte{0xc0, 0, 0, 0}), true, buf); err == nil {
		t.Error("a frame starting with 0b11 was accepted")
	}
	if _, err := readFrame(bytes.NewReader([]byte{0x40, 0, 0xff, 0xff}), true, make([]byte, 64)); err == nil {
		t.Error("a frame larger than the buffer was accepted")
	}
	if _, err := readFrame(bytes.NewReader(channel[:6]), true, buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v, want unexpected EOF", err)
	}
}

func TestUnroutable(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "192.168.0.9": true, "172.16.5.5": true, "169.254.1.1": true,
		"::1": true, "fd00::1": true, "fe80::1": true, "0.0.0.0": true,
		"192.0.2.10": false, "8.8.8.8": false, "2001:db8::1": false,
	}
	for ip, want := range tests {
		if got := unroutable(net.ParseIP(ip)); got != want {
			t.Errorf("unroutable(%s) = %v, want %v", ip, got, want)
		}
	}
}
