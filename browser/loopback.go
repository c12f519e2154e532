package browser

import (
	"context"
	"fmt"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// LoopbackConfig adjusts the in-page call.
type LoopbackConfig struct {
	// Duration is how long media flows before the stats are read
	// (default 2 s).
	Duration time.Duration
}

type inboundStats struct {
	Codec           string   `json:"codec"`
	PacketsReceived float64  `json:"packetsReceived"`
	PacketsLost     float64  `json:"packetsLost"`
	BytesReceived   float64  `json:"bytesReceived"`
	FramesDecoded   float64  `json:"framesDecoded"`
	FramesPerSecond float64  `json:"framesPerSecond"`
	FrameWidth      float64  `json:"frameWidth"`
	FrameHeight     float64  `json:"frameHeight"`
	JitterMs        *float64 `json:"jitterMs"`
}

type outboundStats struct {
	Codec         string  `json:"codec"`
	PacketsSent   float64 `json:"packetsSent"`
	BytesSent     float64 `json:"bytesSent"`
	FramesEncoded float64 `json:"framesEncoded"`
}

type candidatePair struct {
	RTTMs      *float64 `json:"rttMs"`
	Local      string   `json:"local"`
	Remote     string   `json:"remote"`
	LocalType  string   `json:"localType"`
	RemoteType string   `json:"remoteType"`
}

// Loopback calls the page itself: two RTCPeerConnections joined over
// loopback, the camera and mic on one side; after Duration it reads the
// receiving side's getStats.
func Loopback(ctx context.Context, b *Browser, cfg LoopbackConfig) (m probes.Measurement) {
	if cfg.Duration <= 0 {
		cfg.Duration = 2 * time.Second
	}
	var res struct {
		ConnectedMs float64        `json:"connectedMs"`
		Video       *inboundStats  `json:"video"`
		Audio       *inboundStats  `json:"audio"`
		VideoKbps   float64        `json:"videoKbps"`
		AudioKbps   float64        `json:"audioKbps"`
		FPS         float64        `json:"fps"`
		Pair        *candidatePair `json:"pair"`
	}
	arg := map[string]any{"durationMs": cfg.Duration.Milliseconds(), "loopbackOnly": b.loopbackCandidates()}
	ev, err := b.call(ctx, Task{Name: PageLoopback, Arg: arg}, &res, b.mediaPermission())
	m = probes.Measurement{}
	defer func() { m.Evidence = b.withContext(m.Evidence, ev) }()
	if err != nil {
		m.Err = err
		return m
	}
	m.SetMetric("connected_ms", res.ConnectedMs)
	m.SetMetric("fps", res.FPS)
	m.SetMetric("video_kbps", res.VideoKbps)
	m.SetMetric("audio_kbps", res.AudioKbps)
	if v := res.Video; v != nil {
		m.SetMetric("frames_decoded", v.FramesDecoded)
		m.SetMetric("video_packets_lost", v.PacketsLost)
		m.AddEvidence("video", fmt.Sprintf("%s %gx%g", v.Codec, v.FrameWidth, v.FrameHeight))
	}
	if a := res.Audio; a != nil {
		m.SetMetric("audio_packets_lost", a.PacketsLost)
		m.AddEvidence("audio", a.Codec)
	}
	if p := res.Pair; p != nil {
		if p.RTTMs != nil {
			m.SetMetric("rtt_ms", *p.RTTMs)
		}
		m.AddEvidence("pair", p.Local+" ↔ "+p.Remote)
	}
	return m
}
