package probes_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// stunStreamServer answers Binding requests over TCP through write, which
// decides how the answer goes on the wire.
func stunStreamServer(t *testing.T, write func(c net.Conn, n int, answer []byte)) probes.Target {
	t.Helper()
	addr := listenTCP(t, func(c net.Conn) {
		for n := 0; ; n++ {
			head := make([]byte, 20)
			if _, err := io.ReadFull(c, head); err != nil {
				return
			}
			req := &stun.Message{Raw: make([]byte, 20+int(binary.BigEndian.Uint16(head[2:4])))}
			copy(req.Raw, head)
			if _, err := io.ReadFull(c, req.Raw[20:]); err != nil || req.Decode() != nil {
				return
			}
			from := c.RemoteAddr().(*net.TCPAddr)
			answer, _ := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: from.IP, Port: from.Port}, stun.Fingerprint)
			write(c, n, answer.Raw)
		}
	})
	s := mustServer(t, "stun:"+addr.String(), "", "")
	return probes.Target{Server: s, Transport: probes.TCP}
}

// STUN over TCP frames by the length field across reads: a first answer
// split by a pause longer than the request timeout, and answers preceded
// by messages for other transactions (one larger than a datagram), keep
// the stream in step instead of failing it as garbage.
func TestSTUNOverTCPStaysInStep(t *testing.T) {
	testenv.CheckGoroutines(t)
	const timeout = 200 * time.Millisecond
	other := func(size int) []byte {
		m, _ := stun.Build(stun.TransactionID, stun.BindingSuccess,
			stun.RawAttribute{Type: 0x8055, Value: make([]byte, size)}, stun.Fingerprint)
		return m.Raw
	}
	tests := []struct {
		name      string
		write     func(c net.Conn, n int, answer []byte)
		responses float64
	}{
		{"first answer split by a pause", func(c net.Conn, n int, answer []byte) {
			if n == 0 {
				_, _ = c.Write(answer[:10])
				time.Sleep(timeout + 150*time.Millisecond) // the server stalls mid-answer
				_, _ = c.Write(answer[10:])
				return
			}
			_, _ = c.Write(answer)
		}, 4},
		{"other transactions interleaved", func(c net.Conn, _ int, answer []byte) {
			burst := append(append(other(3000), other(8)...), answer[:7]...)
			_, _ = c.Write(burst)
			_, _ = c.Write(answer[7:])
		}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := stunStreamServer(t, tt.write)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m := probes.STUN(ctx, target, probes.STUNConfig{Count: 5, RequestTimeout: timeout})
			if m.Err != nil {
				t.Fatalf("err = %v: the stream lost its framing", m.Err)
			}
			if got := m.Metrics["responses"]; got != tt.responses {
				t.Errorf("responses = %v, want %v", got, tt.responses)
			}
		})
	}
}
