package browser

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// PeerCall makes a call between two browsers, signaled through rtcprobe:
// a offers (camera, microphone and a data channel, as in Interop), b
// answers with its own camera and microphone and echoes every data
// channel message; each side's getStats shows what it decoded from the
// other. With cfg.Relay both are relay-only through that TURN server.
func PeerCall(ctx context.Context, a, b *Browser, cfg InteropConfig) (m probes.Measurement) {
	if cfg.Duration <= 0 {
		cfg.Duration = 1500 * time.Millisecond
	}
	if cfg.Messages <= 0 {
		cfg.Messages = 10
	}
	// Each browser gets the relay as it uses it (Firefox names a trusted
	// loopback turns: server localhost).
	serversA, serversB := []webrtc.ICEServer{}, []webrtc.ICEServer{}
	if cfg.Relay != nil {
		for _, br := range []*Browser{a, b} {
			if err := br.usesServer(*cfg.Relay); err != nil {
				return probes.Measurement{Err: err, Evidence: append(a.identity(), b.identity()...)}
			}
		}
		serversA, serversB = []webrtc.ICEServer{a.iceServerFor(*cfg.Relay)}, []webrtc.ICEServer{b.iceServerFor(*cfg.Relay)}
	}
	id := rand.Text()
	rl := newRelay()
	defer rl.close()
	defer a.pages.register(id, rl.exchange)()
	defer b.pages.registerRelay(id, rl)()

	var offered interopResult
	var answered struct {
		ConnectedMs float64 `json:"connectedMs"`
		Echoed      int     `json:"echoed"`
		Video       struct {
			Inbound *inboundStats `json:"inbound"`
		} `json:"video"`
		Audio struct {
			Inbound *inboundStats `json:"inbound"`
		} `json:"audio"`
	}
	var (
		wg         sync.WaitGroup
		evB        []probes.Evidence
		errB       error
		answerTime = cfg.Duration + 10*time.Second
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		argB := map[string]any{"offerURL": "/relay/" + id + "/offer", "answerURL": "/relay/" + id + "/answer", "iceServers": serversB,
			"relayOnly": cfg.Relay != nil, "loopbackOnly": b.loopbackCandidates(), "maxMs": answerTime.Milliseconds()}
		evB, errB = b.call(ctx, Task{Name: PageAnswerCall, Arg: argB}, &answered, b.mediaPermission())
		if errB != nil {
			rl.close()
		}
	}()
	argA := map[string]any{"signalURL": "/signal/" + id, "iceServers": serversA, "relayOnly": cfg.Relay != nil,
		"loopbackOnly": a.loopbackCandidates(), "durationMs": cfg.Duration.Milliseconds(), "messages": cfg.Messages}
	evA, errA := a.call(ctx, Task{Name: PageInterop, Arg: argA}, &offered, a.mediaPermission())
	if errA != nil {
		rl.close()
	}
	wg.Wait()
	m.Evidence = append(a.withContext(nil, evA), b.withContext(nil, evB)...)
	switch {
	case errA != nil:
		m.Err = errA
		return m
	case errB != nil:
		m.Err = errB
		return m
	}
	// Where the set-up time went: the offer's gathering, then the other
	// browser's answer (its window, devices and gathering), then ICE.
	m.SetMetric("gathered_ms", offered.GatheredMs)
	m.SetMetric("answered_ms", offered.AnsweredMs)
	m.SetMetric("connected_ms", offered.ConnectedMs)
	offered.recordEcho(&m, cfg.Messages)
	// Each side as the other decoded it.
	for _, side := range []struct {
		name         string
		video, audio *inboundStats
	}{
		{"answerer", answered.Video.Inbound, answered.Audio.Inbound},
		{"offerer", offered.Video.Inbound, offered.Audio.Inbound},
	} {
		frames, packets := 0.0, 0.0
		if v := side.video; v != nil {
			frames = v.FramesDecoded
			m.AddEvidence(side.name+" received video", fmt.Sprintf("%s %gx%g, %g frames decoded", v.Codec, v.FrameWidth, v.FrameHeight, v.FramesDecoded))
		}
		if au := side.audio; au != nil {
			packets = au.PacketsReceived
			m.AddEvidence(side.name+" received audio", fmt.Sprintf("%s, %g packets", au.Codec, au.PacketsReceived))
		}
		m.SetMetric(side.name+"_frames_decoded", frames)
		m.SetMetric(side.name+"_audio_packets", packets)
	}
	if p := offered.Pair; p != nil {
		pair := p.typed()
		m.Summary = &CallSummary{Pair: pair}
		m.AddEvidence("offerer pair", p.Local+" ↔ "+p.Remote)
		if cfg.Relay != nil {
			m.SetMetric("relayed", boolMetric(pair.Relayed()))
		}
	}
	return m
}
