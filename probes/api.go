package probes

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// APIConfig is how one pion peer is set up: every pion peer rtcprobe runs
// (the in-process pairs and the browser's call partner) comes from NewAPI,
// so they all get the same timeouts, buffers and codecs.
type APIConfig struct {
	// Relay: the peer uses relay candidates only, so it need not wait
	// for a better pair.
	Relay bool
	// Loopback keeps every candidate on loopback: used when the servers
	// are on loopback, so no packet leaves the machine.
	Loopback bool
	// IncludeLoopback adds loopback candidates to those of every other
	// interface: a peer serving a browser on the same host.
	IncludeLoopback bool
	// Net puts the peer on a virtual network (pion vnet); nil means the
	// host's network.
	Net transport.Net
	// ReportInterval is how often RTCP sender/receiver reports go out
	// (pion's default when zero).
	ReportInterval time.Duration
	// OnStats, when set, receives the getter of the peer's RTP stream
	// statistics (RTCP-derived RTT and loss included), which GetStats
	// does not expose for senders.
	OnStats func(stats.Getter)
	// TURNDialer, when set, makes the peer's connections to TURN servers
	// over TCP and TLS (see TURNDialer).
	TURNDialer Dialer
	// Addresses, when set, are the only local addresses the peer gathers
	// candidates on (loopback ones included when named).
	Addresses []netip.Addr
	// Codecs, when set, are the only codecs the peer negotiates (a call
	// that tests one codec); nil means pion's default set.
	Codecs []webrtc.RTPCodecParameters
}

// Dialer opens a connection to a TURN server for pion, which then speaks
// TURN over it as is: for turns: the connection must already be TLS.
type Dialer interface {
	Dial(network, addr string) (net.Conn, error)
}

// NewAPI builds a pion API for one peer.
func NewAPI(cfg APIConfig) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled // pion's own warnings would garble the report
	se.LoggerFactory = logs
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// The receive window Chrome's SCTP stack (dcsctp) offers; pion's 1 MiB
	// default would halve the data channel throughput a browser gets.
	se.SetSCTPMaxReceiveBufferSize(5 << 20)
	// A STUN server that has not answered in 2 s is no use to ICE; pion's
	// 5 s default, paid by each peer in turn, outlasted ice.all's deadline
	// when a configured STUN server was down.
	se.SetSTUNGatherTimeout(2 * time.Second)
	// Fail fast enough that a dead peer is seen within a media sample.
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	// pion waits up to 2 s before accepting a relayed pair in case a
	// better one works; browsers nominate much sooner. Short waits keep
	// the preference for direct pairs without adding seconds to calls
	// that need the relay.
	se.SetSrflxAcceptanceMinWait(100 * time.Millisecond)
	se.SetPrflxAcceptanceMinWait(200 * time.Millisecond)
	se.SetRelayAcceptanceMinWait(300 * time.Millisecond)
	if cfg.Relay {
		// Only relay pairs exist, so there is nothing better to wait for.
		se.SetRelayAcceptanceMinWait(0)
	}
	if cfg.IncludeLoopback {
		se.SetIncludeLoopbackCandidate(true)
	}
	if cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	}
	if len(cfg.Addresses) > 0 {
		only := map[netip.Addr]bool{}
		for _, a := range cfg.Addresses {
			only[a.Unmap()] = true
			if a.IsLoopback() {
				se.SetIncludeLoopbackCandidate(true)
			}
		}
		se.SetIPFilter(func(ip net.IP) bool {
			a, ok := netip.AddrFromSlice(ip)
			return ok && only[a.Unmap()]
		})
	}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	} else if cfg.Loopback {
		n, err := newPeerNet()
		if err != nil {
			return nil, err
		}
		se.SetNet(n)
	}
	if cfg.TURNDialer != nil {
		se.SetICEProxyDialer(cfg.TURNDialer)
	}
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me, cfg.Codecs); err != nil {
		return nil, err
	}
	// NACK and RTCP reports only: the default set adds congestion-control
	// feedback whose interceptor logs to stderr on its own.
	reg := &interceptor.Registry{}
	if cfg.OnStats != nil {
		// The stats interceptor goes first, i.e. closest to the network,
		// so it sees the sender reports the report interceptor writes (it
		// needs them to compute the RTT from the receiver reports).
		si, err := stats.NewInterceptor()
		if err != nil {
			return nil, err
		}
		si.OnNewPeerConnection(func(_ string, g stats.Getter) { cfg.OnStats(g) })
		reg.Add(si)
	}
	if err := webrtc.ConfigureNack(me, reg); err != nil {
		return nil, err
	}
	var (
		receiver []report.ReceiverOption
		sender   []report.SenderOption
	)
	if cfg.ReportInterval > 0 {
		receiver = append(receiver, report.ReceiverInterval(cfg.ReportInterval))
		sender = append(sender, report.SenderInterval(cfg.ReportInterval))
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg, receiver, sender...); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg)), nil
}

// registerCodecs registers codecs, by the kind their MIME type names, or
// pion's defaults when there are none.
func registerCodecs(me *webrtc.MediaEngine, codecs []webrtc.RTPCodecParameters) error {
	if codecs == nil {
		return me.RegisterDefaultCodecs()
	}
	for _, c := range codecs {
		kind := webrtc.RTPCodecTypeAudio
		if strings.HasPrefix(strings.ToLower(c.MimeType), "video/") {
			kind = webrtc.RTPCodecTypeVideo
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			return err
		}
	}
	return nil
}
