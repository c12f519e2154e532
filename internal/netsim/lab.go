package netsim

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// Addresses of the simulated internet (documentation ranges: they never
// leave the process anyway).
const (
	wanCIDR  = "198.51.100.0/24"
	serverIP = "198.51.100.1"
	port     = 3478
	realm    = "rtcprobe.sim"
)

// Lab is a running simulated network: a WAN router with the STUN/TURN
// server on it, and each peer behind its own access router that does the
// NAT. Every impairment is applied once per direction, on the sending
// peer's egress (as netem on each host would): delay, jitter and rate on
// its sockets (egress), loss on its access router. A relayed call so sees
// the same one-way delay as a direct one (the relay sits on the path), and
// the relay-to-relay hop inside the server stays unimpaired.
type Lab struct {
	spec       Spec
	cut        atomic.Bool
	wan        *vnet.Router
	nets       [2]*vnet.Net
	egress     [2]*egress
	turn       *turn.Server
	user, pass string
	rtp        rtpCounts
}

// rtpCounts are the RTP packets the peers' access links passed and
// dropped: what was injected, for comparing with what a probe measured.
type rtpCounts struct{ passed, dropped atomic.Int64 }

// buildMu serialises building networks: vnet numbers the MAC addresses
// of new interfaces from an unguarded package counter.
var buildMu sync.Mutex

// Start builds and starts the network for spec.
func Start(spec Spec) (*Lab, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: wanCIDR, LoggerFactory: logs})
	if err != nil {
		return nil, fmt.Errorf("WAN router: %w", err)
	}
	l := &Lab{spec: spec, wan: wan, user: "sim-" + rand.Text(), pass: rand.Text()}
	wan.AddChunkFilter(func(vnet.Chunk) bool { return !l.cut.Load() })

	serverNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{serverIP}})
	if err != nil {
		return nil, err
	}
	if err := wan.AddNet(serverNet); err != nil {
		return nil, err
	}
	for i, nat := range spec.NAT {
		n, err := l.addPeer(i, nat, logs)
		if err != nil {
			return nil, fmt.Errorf("peer %d network: %w", i, err)
		}
		l.nets[i] = n
		if spec.Delay > 0 || spec.Jitter > 0 || spec.Rate > 0 {
			l.egress[i] = newEgress(spec.Delay, spec.Jitter, spec.Rate, spec.Seed+uint64(i))
		}
	}
	if err := wan.Start(); err != nil {
		l.closeEgress()
		return nil, fmt.Errorf("start WAN: %w", err)
	}
	if err := l.startServer(serverNet, logs); err != nil {
		l.closeEgress()
		_ = wan.Stop()
		return nil, err
	}
	return l, nil
}

// addPeer attaches peer i to the WAN behind its access router.
func (l *Lab) addPeer(i int, nat NAT, logs logging.LoggerFactory) (*vnet.Net, error) {
	public := publicIP(i)
	private := fmt.Sprintf("10.0.%d.2", i+1)
	typ := &vnet.NATType{Mode: vnet.NATModeNormal}
	switch nat {
	case NATNone:
		// 1:1, no filtering: the peer is reachable at its public address
		// as if it had it on its interface.
		typ.Mode = vnet.NATModeNAT1To1
		public += "/" + private
	case NATFullCone:
		typ.MappingBehavior, typ.FilteringBehavior = vnet.EndpointIndependent, vnet.EndpointIndependent
	case NATRestricted:
		typ.MappingBehavior, typ.FilteringBehavior = vnet.EndpointIndependent, vnet.EndpointAddrDependent
	case NATPortRestricted:
		typ.MappingBehavior, typ.FilteringBehavior = vnet.EndpointIndependent, vnet.EndpointAddrPortDependent
	case NATSymmetric:
		typ.MappingBehavior, typ.FilteringBehavior = vnet.EndpointAddrPortDependent, vnet.EndpointAddrPortDependent
	default:
		return nil, fmt.Errorf("unknown NAT type %q", nat)
	}
	lan, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          fmt.Sprintf("10.0.%d.0/24", i+1),
		StaticIPs:     []string{public},
		NATType:       typ,
		LoggerFactory: logs,
	})
	if err != nil {
		return nil, err
	}
	// Loss is decided once, on the way out of the sending peer's access
	// link; the filter also counts the RTP it passes (with no loss too).
	_, lanNet, _ := net.ParseCIDR(fmt.Sprintf("10.0.%d.0/24", i+1))
	lan.AddChunkFilter(newLossFilter(l.spec.LossPct, l.spec.Seed+uint64(i), lanNet, &l.rtp))
	if err := l.wan.AddRouter(lan); err != nil {
		return nil, err
	}
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{private}})
	if err != nil {
		return nil, err
	}
	return n, lan.AddNet(n)
}

func (l *Lab) startServer(n *vnet.Net, logs logging.LoggerFactory) error {
	conn, err := n.ListenPacket("udp4", fmt.Sprintf("%s:%d", serverIP, port))
	if err != nil {
		return fmt.Errorf("simulated server: %w", err)
	}
	key := turn.GenerateAuthKey(l.user, realm, l.pass)
	var relay turn.RelayAddressGenerator = &turn.RelayAddressGeneratorNone{Address: serverIP, Net: n}
	if l.spec.TURN {
		relay = &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(serverIP), Address: serverIP, Net: n}
	}
	l.turn, err = turn.NewServer(turn.ServerConfig{
		Realm:         realm,
		LoggerFactory: logs,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			// turn=off: a STUN-only server, as many deployments run.
			return ra.Username, key, l.spec.TURN && ra.Username == l.user
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: conn, RelayAddressGenerator: relay}},
	})
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("simulated server: %w", err)
	}
	return nil
}

// Cut drops every packet crossing the WAN from now on: the network goes
// away mid-call.
func (l *Lab) Cut() { l.cut.Store(true) }

// Nets are the offerer's and the answerer's networks.
func (l *Lab) Nets() [2]transport.Net {
	var out [2]transport.Net
	for i, n := range l.nets {
		out[i] = n
		if l.egress[i] != nil {
			out[i] = &shapedNet{Net: n, out: l.egress[i]}
		}
	}
	return out
}

// RTPCounts are how many RTP packets (TURN ChannelData looked into) the
// peers' access links have passed and dropped so far.
func (l *Lab) RTPCounts() (passed, dropped int64) {
	return l.rtp.passed.Load(), l.rtp.dropped.Load()
}

// ICEServers are the simulated STUN server and, unless turn=off, TURN.
func (l *Lab) ICEServers() []webrtc.ICEServer {
	out := []webrtc.ICEServer{{URLs: []string{fmt.Sprintf("stun:%s:%d", serverIP, port)}}}
	return append(out, l.TURNServers()...)
}

// TURNServers is the simulated TURN server, or none with turn=off.
func (l *Lab) TURNServers() []webrtc.ICEServer {
	if !l.spec.TURN {
		return nil
	}
	return []webrtc.ICEServer{{URLs: []string{fmt.Sprintf("turn:%s:%d?transport=udp", serverIP, port)}, Username: l.user, Credential: l.pass}}
}

// Close stops the server and the routers.
func (l *Lab) Close() error {
	l.closeEgress()
	var errs []error
	if l.turn != nil {
		errs = append(errs, l.turn.Close())
	}
	errs = append(errs, l.wan.Stop())
	return errors.Join(errs...)
}

func (l *Lab) closeEgress() {
	for _, e := range l.egress {
		if e != nil {
			e.close()
		}
	}
}

// newLossFilter drops pct % of the UDP packets leaving lan. Drops are
// spread evenly, with a random phase, within each flow (source →
// destination) and packet class (RTP, RTCP, other: RFC 7983
// demultiplexing, looking inside TURN ChannelData), so that even a
// few seconds of one media stream lose the asked-for share. Real
// networks lose packets in bursts; the E-model's MOS here assumes random
// loss too.
func newLossFilter(pct float64, seed uint64, lan *net.IPNet, rtp *rtpCounts) vnet.ChunkFilter {
	type key struct {
		flow  string
		class byte
	}
	var (
		mu    sync.Mutex
		debt  = map[key]float64{}
		rng   = mrand.New(mrand.NewPCG(seed, 0x5eed))
		share = pct / 100
	)
	return func(c vnet.Chunk) bool {
		if c.Network() != "udp" {
			return true // vnet TCP does not retransmit: a drop would be a hang, not loss
		}
		src, ok := c.SourceAddr().(*net.UDPAddr)
		if !ok || !lan.Contains(src.IP) {
			return true // inbound: the sender's link already decided
		}
		k := key{c.SourceAddr().String() + ">" + c.DestinationAddr().String(), packetClass(c.UserData())}
		mu.Lock()
		d, seen := debt[k]
		if !seen {
			d = rng.Float64() // random phase
		}
		d += share
		drop := d >= 1
		if drop {
			d--
		}
		debt[k] = d
		mu.Unlock()
		if k.class == 'r' {
			if drop {
				rtp.dropped.Add(1)
			} else {
				rtp.passed.Add(1)
			}
		}
		return !drop
	}
}

// packetClass sorts a UDP payload into RTP (r), RTCP (c) or anything else
// (o): STUN, DTLS, TURN control. TURN ChannelData (first byte 64-79) is
// looked into.
func packetClass(b []byte) byte {
	if len(b) > 4 && b[0] >= 64 && b[0] <= 79 {
		b = b[4:]
	}
	if len(b) < 2 || b[0] < 128 || b[0] > 191 {
		return 'o'
	}
	if b[1] >= 192 && b[1] <= 223 { // RTCP packet types (RFC 5761 §4)
		return 'c'
	}
	return 'r'
}
