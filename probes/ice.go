package probes

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// ICE connects two in-process peers through cfg's ICE servers and reports
// how: gathering_ms, ice_ms, dtls_ms, connect_ms, candidates_{host,srflx,
// prflx,relay} (both peers), selected_relay (1 when the pair uses TURN),
// ice_rtt_ms; evidence lists each peer's candidates and the selected pair.
// A failure is a *ConnectError naming the stage.
func ICE(ctx context.Context, cfg PairConfig) Measurement {
	p, err := NewPair(cfg)
	if err != nil {
		return Failed(err)
	}
	defer p.Close()
	// A data channel gives the offer something to negotiate, as an
	// application would.
	if _, err := p.Offer.CreateDataChannel("rtcprobe-ice", nil); err != nil {
		return Failed(fmt.Errorf("%w: data channel: %v", ErrUnsupported, err))
	}
	var m Measurement
	_ = p.connectRecorded(ctx, &m) // the error is m.Err
	p.snapshot(cfg.Stats, cfg.StatsLabel)
	return m
}

// ICEServer turns a server and the transport to reach it into the pion
// form, credentials included (they go to the peer, never to output).
func ICEServer(s Server, tr Transport) webrtc.ICEServer {
	uri := s.URI.Scheme.String() + ":" + s.Addr()
	if s.IsTURN() {
		proto := stun.ProtoTypeUDP
		if tr.Network() == "tcp" {
			proto = stun.ProtoTypeTCP
		}
		uri += "?transport=" + proto.String()
	}
	ice := webrtc.ICEServer{URLs: []string{uri}}
	if s.IsTURN() {
		ice.Username, ice.Credential = s.Username, s.Password
	}
	return ice
}

// AllLoopback reports whether every server is on a loopback address, so
// the peers can be kept on loopback too.
func AllLoopback(servers []Server) bool {
	for _, s := range servers {
		ip := net.ParseIP(s.URI.Host)
		if !strings.EqualFold(s.URI.Host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}
