package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// DataChannelConfig sets up a data channel probe.
type DataChannelConfig struct {
	Pair PairConfig
	// Bytes is how much the throughput test sends (default 4 MiB: a
	// typical shared file or photo).
	Bytes int
	// Echoes is the number of echo round trips (default 10).
	Echoes int
	// MessageSize is the size of each bulk message (default 16 KiB, the
	// size every browser accepts).
	MessageSize int
	// TransferTime caps the throughput test (default 5s): on a slow path
	// throughput is what arrived in that time.
	TransferTime time.Duration
}

func (c DataChannelConfig) withDefaults() DataChannelConfig {
	if c.Bytes <= 0 {
		c.Bytes = 4 << 20
	}
	if c.Echoes <= 0 {
		c.Echoes = 10
	}
	if c.MessageSize <= 0 {
		c.MessageSize = 16 << 10
	}
	if c.TransferTime <= 0 {
		c.TransferTime = 5 * time.Second
	}
	return c
}

// Message kinds: the first byte of every message.
const (
	msgEcho = 'e'
	msgBulk = 'b'
	msgDone = 'd'
)

// bufferHigh bounds what is queued in the SCTP send buffer; the sender
// waits below it for the low-water mark (flow control as a browser app
// does it).
const (
	bufferHigh = 1 << 20
	bufferLow  = 256 << 10
)

// DataChannel opens a reliable, ordered data channel between two
// in-process peers and measures open_ms (connected → open), echo RTTs
// (echo_rtt_{min,median,p95,max}_ms), and throughput_mbps: cfg.Bytes, or
// what arrived within cfg.TransferTime (bytes says which), plus the
// connection metrics of ICE.
func DataChannel(ctx context.Context, cfg DataChannelConfig) Measurement {
	cfg = cfg.withDefaults()
	p, err := NewPair(cfg.Pair)
	if err != nil {
		return Failed(err)
	}
	defer p.Close()
	dc, err := p.Offer.CreateDataChannel("rtcprobe", nil) // reliable and ordered by default
	if err != nil {
		return Failed(fmt.Errorf("%w: data channel: %v", ErrUnsupported, err))
	}
	opened := make(chan time.Time, 1)
	echoes := make(chan []byte, 1)
	done := make(chan struct{}, 1)
	dc.OnOpen(func() { opened <- time.Now() })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		switch {
		case len(msg.Data) > 0 && msg.Data[0] == msgEcho:
			echoes <- msg.Data
		case len(msg.Data) > 0 && msg.Data[0] == msgDone:
			done <- struct{}{}
		}
	})
	// The answerer echoes echo messages and acknowledges the last byte of
	// the bulk transfer.
	total := int64(cfg.Bytes)
	// Both peers live in this process, so the sender can read what the
	// receiver got so far directly when the transfer time runs out.
	var got atomic.Int64
	p.Answer.OnDataChannel(func(peer *webrtc.DataChannel) {
		peer.OnMessage(func(msg webrtc.DataChannelMessage) {
			if len(msg.Data) == 0 {
				return
			}
			switch msg.Data[0] {
			case msgEcho:
				_ = peer.Send(msg.Data)
			case msgBulk:
				if got.Add(int64(len(msg.Data))) == total {
					_ = peer.Send([]byte{msgDone})
				}
			}
		})
	})

	var m Measurement
	if err := p.connectRecorded(ctx, &m); err != nil {
		return m
	}
	connected := time.Now()
	broken := p.Broken()
	fail := func(what string, err error) Measurement {
		m.Err = &ConnectError{Stage: StageDataChannel, Err: fmt.Errorf("%s: %w", what, err), After: time.Since(connected)}
		return m
	}
	openAt, err := waitFor(ctx, broken, opened)
	if err != nil {
		return fail("channel did not open", err)
	}
	m.SetMetric("open_ms", ms(max(0, openAt.Sub(connected))))

	var rtts Durations
	for i := range cfg.Echoes {
		want := fmt.Appendf([]byte{msgEcho}, "%d", i)
		sent := time.Now()
		if err := dc.Send(want); err != nil {
			return fail("echo", err)
		}
		reply, err := waitFor(ctx, broken, echoes)
		if err != nil {
			return fail("no echo", err)
		}
		if !bytes.Equal(reply, want) {
			return fail("echo", fmt.Errorf("got %q back for %q", reply, want))
		}
		rtts = append(rtts, time.Since(sent))
	}
	rtts.Record(&m, "echo_rtt")

	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(bufferLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	chunk := bytes.Repeat([]byte{msgBulk}, cfg.MessageSize)
	tctx, cancel := context.WithTimeout(ctx, cfg.TransferTime)
	defer cancel()
	start := time.Now()
	cut := false
	for left := cfg.Bytes; left > 0 && !cut; {
		n := min(left, len(chunk))
		for dc.BufferedAmount() > bufferHigh && !cut {
			if _, err := waitFor(tctx, broken, low); err != nil {
				if ctx.Err() != nil || tctx.Err() == nil {
					return fail(fmt.Sprintf("transfer stalled with %d of %d bytes received", got.Load(), cfg.Bytes), err)
				}
				cut = true
			}
		}
		if cut {
			break
		}
		if err := dc.Send(chunk[:n]); err != nil {
			return fail("transfer", err)
		}
		left -= n
	}
	if !cut {
		if _, err := waitFor(tctx, broken, done); err != nil {
			if ctx.Err() != nil || tctx.Err() == nil {
				return fail(fmt.Sprintf("transfer stalled with %d of %d bytes received", got.Load(), cfg.Bytes), err)
			}
			cut = true
		}
	}
	took := time.Since(start)
	received := got.Load()
	if cut {
		m.AddEvidence("transfer", fmt.Sprintf("cut after %s with %d of %d bytes received", cfg.TransferTime, received, cfg.Bytes))
	}
	if received == 0 {
		return fail("transfer", errors.New("nothing arrived"))
	}
	m.SetMetric("bytes", float64(received))
	m.SetMetric("throughput_mbps", round3(float64(received)*8/took.Seconds()/1e6))
	p.snapshot(cfg.Pair.Stats, cfg.Pair.StatsLabel)
	return m
}

// waitFor receives from ch unless the connection breaks or ctx ends first.
func waitFor[T any](ctx context.Context, broken <-chan struct{}, ch <-chan T) (T, error) {
	var zero T
	select {
	case v := <-ch:
		return v, nil
	case <-broken:
		return zero, errors.New("the connection dropped")
	case <-ctx.Done():
		return zero, fmt.Errorf("deadline: %w", context.Cause(ctx))
	}
}
