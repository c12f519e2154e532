package probes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestDataChannelLoopback(t *testing.T) {
	testenv.CheckGoroutines(t)
	stunSrv, turnSrv := stunTURN(t)
	for _, tc := range []struct {
		name  string
		relay bool
	}{{"direct", false}, {"relay", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			servers := []webrtc.ICEServer{probes.ICEServer(stunSrv, probes.UDP), probes.ICEServer(turnSrv, probes.UDP)}
			m := probes.DataChannel(ctx, probes.DataChannelConfig{Pair: probes.PairConfig{ICEServers: servers, Loopback: true, Relay: tc.relay}, Bytes: 1 << 20})
			if m.Err != nil {
				t.Fatalf("data channel: %v", m.Err)
			}
			t.Logf("%v", m.Metrics)
			if m.Metrics["throughput_mbps"] <= 0 || m.Metrics["bytes"] != 1<<20 {
				t.Errorf("throughput_mbps = %v for %v bytes", m.Metrics["throughput_mbps"], m.Metrics["bytes"])
			}
			if rtt := m.Metrics["echo_rtt_median_ms"]; rtt <= 0 || rtt > 50 {
				t.Errorf("echo_rtt_median_ms = %v on loopback", rtt)
			}
			if _, ok := m.Metrics["open_ms"]; !ok {
				t.Error("open_ms missing")
			}
		})
	}
}

func TestDataChannelSlowPath(t *testing.T) {
	testenv.CheckGoroutines(t)
	// 3 % loss and 40 ms delay make 4 MiB impossible in 1 s: the probe
	// reports what arrived in its transfer time.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := probes.DataChannel(ctx, probes.DataChannelConfig{Pair: simulated(t, "delay=40ms,loss=3%"), Echoes: 3, TransferTime: time.Second})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if got := m.Metrics["bytes"]; got <= 0 || got >= 4<<20 {
		t.Errorf("bytes = %v, want part of 4 MiB", got)
	}
	if tp := m.Metrics["throughput_mbps"]; tp <= 0 || tp > 33 {
		t.Errorf("throughput_mbps = %v, want what ≤ 4 MiB in 1 s allows", tp)
	}
}

func TestDataChannelDeadline(t *testing.T) {
	testenv.CheckGoroutines(t)
	// A deadline before the transfer ends is a failure naming the stage.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m := probes.DataChannel(ctx, probes.DataChannelConfig{Pair: simulated(t, "delay=50ms,loss=10%")})
	var ce *probes.ConnectError
	if !errors.As(m.Err, &ce) {
		t.Fatalf("err = %v, want a ConnectError", m.Err)
	}
	if ctx.Err() == nil {
		t.Fatal("returned before the deadline without finishing")
	}
}

func BenchmarkDataChannelThroughput(b *testing.B) {
	stunSrv, _ := stunTURN(b)
	var sum float64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		m := probes.DataChannel(ctx, probes.DataChannelConfig{Pair: probes.PairConfig{ICEServers: []webrtc.ICEServer{probes.ICEServer(stunSrv, probes.UDP)}, Loopback: true}})
		cancel()
		if m.Err != nil {
			b.Fatal(m.Err)
		}
		sum += m.Metrics["throughput_mbps"]
	}
	b.ReportMetric(sum/float64(b.N), "Mbit/s")
}
