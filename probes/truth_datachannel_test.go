package probes_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestTruthDataChannel: a data channel over a path of known delay D and
// rate R (each direction).
//
//   - echo_rtt_min_ms: one message each way, the path's 2 x D plus the
//     simulator's own round trip, at most 1.5 ms + 1 % under and
//     5.5 ms + 1 % over (SCTP's send loops on both peers).
//   - open_ms: from both peers connected to the channel open is SCTP's
//     four-way handshake (2 round trips) and the DCEP open and its
//     acknowledgement (1), of which DTLS's last flight may overlap one:
//     2 to 3 round trips, ± the same allowance.
//   - throughput_mbps: at most R times the share of each packet that is
//     payload (1172 of 1237 bytes: DTLS 37 and SCTP 28 bytes of headers
//     around SCTP's 1200-byte packets, 94.7 %), and at least 60 % of R:
//     the link's 250 ms queue (more than a round trip's worth) keeps it
//     busy while SCTP's congestion control backs off at each overflow,
//     but its recovery resends whole bursts (67 to 90 % measured), and
//     slow start and the last round trip are short next to the seconds
//     2 MiB takes.
func TestTruthDataChannel(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, spec := range []string{"delay=10ms,rate=4mbit", "delay=50ms,rate=2mbit"} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			attempt(t, func(ck *checker) {
				s, err := netsim.ParseSpec(spec)
				if err != nil {
					t.Fatal(err)
				}
				cfg, lab := simulatedLab(t, spec)
				base := simBaseline(t, ck, lab, s.Delay)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				m := probes.DataChannel(ctx, probes.DataChannelConfig{Pair: cfg, Bytes: 2 << 20, Echoes: 10, TransferTime: 20 * time.Second})
				if m.Err != nil {
					t.Fatal(m.Err)
				}
				rtt := 2*msOf(s.Delay) + base
				a := rttAllowance(rtt)
				ck.within("echo_rtt_min_ms", metric(m, "echo_rtt_min_ms"), rtt-a, rtt+a+4, "2 x D + simulator, + SCTP's send loops")
				ck.within("open_ms", metric(m, "open_ms"), 2*rtt-a, 3*rtt+a+4, fmt.Sprintf("2 to 3 round trips of %.1f ms", rtt))
				rate := s.Rate / 1e6
				ck.within("throughput_mbps", metric(m, "throughput_mbps"), 0.6*rate, 1172.0/1237*rate, fmt.Sprintf("60 %%..94.7 %% of the %.0f Mbit/s link", rate))
				ck.within("bytes", metric(m, "bytes"), 2<<20, 2<<20, "all of it")
			})
		})
	}
}
