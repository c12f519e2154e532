package netsim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"sync"

	"github.com/pion/logging"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/vnet"
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
// NAT and carries half of the injected delay, jitter and loss. Splitting
// the impairment over the two access links makes a relayed call see the
// same one-way delay as a direct one (the relay sits on the path), and
// keeps the relay-to-relay hop inside the server unimpaired.
type Lab struct {
	spec       Spec
	wan        *vnet.Router
	nets       [2]*vnet.Net
	turn       *turn.Server
	user, pass string
}

// Start builds and starts the network for spec.
func Start(spec Spec) (*Lab, error) {
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: wanCIDR, LoggerFactory: logs})
	if err != nil {
		return nil, fmt.Errorf("WAN router: %w", err)
	}
	l := &Lab{spec: spec, wan: wan, user: "sim-" + randomHex(4), pass: randomHex(16)}

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
	}
	if err := wan.Start(); err != nil {
		return nil, fmt.Errorf("start WAN: %w", err)
	}
	if err := l.startServer(serverNet, logs); err != nil {
		_ = wan.Stop()
		return nil, err
	}
	return l, nil
}

// addPeer attaches peer i to the WAN behind its access router.
func (l *Lab) addPeer(i int, nat NAT, logs logging.LoggerFactory) (*vnet.Net, error) {
	public := fmt.Sprintf("198.51.100.%d", 20+i)
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
	// Each direction crosses both access routers: half the delay and
	// jitter on each, and a loss q per router with 1-(1-q)^2 = loss.
	lan, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          fmt.Sprintf("10.0.%d.0/24", i+1),
		StaticIPs:     []string{public},
		NATType:       typ,
		MinDelay:      l.spec.Delay / 2,
		MaxJitter:     l.spec.Jitter / 2,
		LoggerFactory: logs,
	})
	if err != nil {
		return nil, err
	}
	if l.spec.LossPct > 0 {
		q := 100 * (1 - math.Sqrt(1-l.spec.LossPct/100))
		lan.AddChunkFilter(newLossFilter(q, l.spec.Seed+uint64(i)))
	}
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

// Nets are the offerer's and the answerer's networks.
func (l *Lab) Nets() [2]transport.Net { return [2]transport.Net{l.nets[0], l.nets[1]} }

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
	var errs []error
	if l.turn != nil {
		errs = append(errs, l.turn.Close())
	}
	errs = append(errs, l.wan.Stop())
	return errors.Join(errs...)
}

// newLossFilter drops pct % of UDP packets per flow (source → destination).
// Drops are stratified: every block of 100 packets of a flow loses
// round-ish pct of them at random positions, so even a few seconds of media
// see the asked-for rate rather than a binomial draw around it.
func newLossFilter(pct float64, seed uint64) vnet.ChunkFilter {
	const block = 100
	type flow struct {
		n     int
		drops map[int]bool
	}
	var (
		mu    sync.Mutex
		flows = map[string]*flow{}
		rng   = mrand.New(mrand.NewPCG(seed, 0x5eed))
	)
	perBlock := pct / 100 * block
	return func(c vnet.Chunk) bool {
		if c.Network() != "udp" {
			return true // vnet TCP does not retransmit: a drop would be a hang, not loss
		}
		mu.Lock()
		defer mu.Unlock()
		key := c.SourceAddr().String() + ">" + c.DestinationAddr().String()
		f := flows[key]
		if f == nil {
			f = &flow{}
			flows[key] = f
		}
		if f.n%block == 0 {
			k := int(math.Floor(perBlock))
			if rng.Float64() < perBlock-float64(k) {
				k++
			}
			f.drops = map[int]bool{}
			for _, i := range rng.Perm(block)[:k] {
				f.drops[i] = true
			}
		}
		drop := f.drops[f.n%block]
		f.n++
		return !drop
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
