package checks

import (
	"context"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

var dataChannelThresholds = []Threshold{
	MustThreshold(Warn, "throughput_mbps >= 2", "sharing a 4 MB photo should take well under 20 s"),
	MustThreshold(Fail, "throughput_mbps >= 0.2", "below 0.2 Mbit/s even a photo takes minutes"),
	MustThreshold(Warn, "echo_rtt_median_ms < 300", "ITU-T G.114: 150 ms one-way is the interactive comfort limit (chat, games)"),
	MustThreshold(Fail, "echo_rtt_median_ms < 800", "ITU-T G.114: beyond 400 ms one-way, interaction breaks down"),
}

func dataChannelChecks() []*Check {
	return []*Check{{
		ID:          "datachannel.reliable",
		Title:       "Data channel (reliable, ordered)",
		Description: "Opens a reliable, ordered WebRTC data channel between two in-process peers: open time, echo RTT, and throughput for 4 MiB (chat and file sharing).",
		Metrics:     metricList([]string{"throughput_mbps", "echo_rtt_median_ms", "open_ms", "echo_rtt_p95_ms", "bytes", "connect_ms", "echo_rtt_min_ms", "echo_rtt_max_ms"}, iceMetrics),
		Timeout:     20 * time.Second,
		Exclusive:   true,
		Thresholds:  dataChannelThresholds,
		Subjects:    callSubjects,
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			return withPair(p, "datachannel.reliable", nil, func(cfg probes.PairConfig) probes.Measurement {
				return probes.DataChannel(ctx, probes.DataChannelConfig{Pair: cfg})
			})
		},
		Advice: iceAdvice,
		Needs:  callNeeds,
	}}
}
