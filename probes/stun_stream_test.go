package probes_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
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
// split by a pause longer than the request timeout (waited for, not given
// up: nothing is lost over TCP), and answers preceded by messages for
// other transactions (one larger than a datagram), keep the stream in
// step instead of failing it as garbage.
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
		}, 5},
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

// TestSTUNOverTCPSplitAnswers: a server that sends every answer in two
// parts, 10 bytes and the rest 700 ms later, is answering, slowly: each
// answer is reassembled and counted with its full round-trip time, no
// request goes out while an answer is still on its way (no retransmission
// over a reliable transport, RFC 8489 §6.2.2), and the pause inside the
// answers is measured and recorded as an observation.
func TestSTUNOverTCPSplitAnswers(t *testing.T) {
	testenv.CheckGoroutines(t)
	const pause = 700 * time.Millisecond
	type request struct {
		tid     [stun.TransactionIDSize]byte
		arrived time.Time
	}
	var (
		mu       sync.Mutex
		problems []string
		answered int
	)
	addr := listenTCP(t, func(c net.Conn) {
		reqs := make(chan request, 16)
		go func() { // timestamps each request as it arrives
			defer close(reqs)
			for {
				head := make([]byte, 20)
				if _, err := io.ReadFull(c, head); err != nil {
					return
				}
				req := &stun.Message{Raw: make([]byte, 20+int(binary.BigEndian.Uint16(head[2:4])))}
				copy(req.Raw, head)
				if _, err := io.ReadFull(c, req.Raw[20:]); err != nil || req.Decode() != nil {
					return
				}
				reqs <- request{req.TransactionID, time.Now()}
			}
		}()
		var done time.Time // when the previous answer's last part went out
		for r := range reqs {
			if r.arrived.Before(done) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("a request arrived %s before the previous answer was complete", done.Sub(r.arrived)))
				mu.Unlock()
			}
			from := c.RemoteAddr().(*net.TCPAddr)
			answer, _ := stun.Build(stun.NewTransactionIDSetter(r.tid), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: from.IP, Port: from.Port}, stun.Fingerprint)
			_, _ = c.Write(answer.Raw[:10])
			time.Sleep(pause) // the server stalls mid-answer
			done = time.Now() // the answer cannot be complete any earlier
			if _, err := c.Write(answer.Raw[10:]); err != nil {
				return
			}
			mu.Lock()
			answered++
			mu.Unlock()
		}
	})
	target := probes.Target{Server: mustServer(t, "stun:"+addr.String(), "", ""), Transport: probes.TCP}
	ctx, rec := probes.Recording(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m := probes.STUN(ctx, target, probes.STUNConfig{Count: 5, RequestTimeout: 500 * time.Millisecond})
	if m.Err != nil {
		t.Fatalf("err = %v: the split answers were not reassembled", m.Err)
	}
	// 3 s hold four answers of 700 ms; the fifth request is cut short.
	if got := m.Metrics["responses"]; got != 4 || m.Metrics["requests"] != 4 || m.Metrics["loss_pct"] != 0 {
		t.Errorf("requests %v, responses %v, loss %v %%: want 4, 4, 0 (the request the deadline cut is not lost)",
			m.Metrics["requests"], got, m.Metrics["loss_pct"])
	}
	if rtt := m.Metrics["rtt_min_ms"]; rtt < float64(pause.Milliseconds()) {
		t.Errorf("rtt_min_ms = %v, want the whole answer's time, at least %v", rtt, pause)
	}
	if stall := m.Metrics["answer_stall_ms"]; stall < float64(pause.Milliseconds())*0.9 {
		t.Errorf("answer_stall_ms = %v, want about %v", stall, pause)
	}
	obs := rec.Take(nil)
	var parts, unfinished bool
	for _, o := range obs {
		parts = parts || o.Outcome == probes.OutcomeAnswered && strings.Contains(o.Note, "came in 2 parts")
		unfinished = unfinished || o.Outcome == probes.OutcomeSilence && strings.Contains(o.Note, "first 10 of the")
	}
	if !parts || !unfinished {
		t.Errorf("observations lack the split answers (%v) or the cut one with its first 10 bytes (%v): %+v", parts, unfinished, obs)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}
