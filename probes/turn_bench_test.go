package probes

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
)

// benchTargets starts the two servers the TURN benchmarks compare: pion/turn
// in this process and coturn in its own.
func benchTargets(b *testing.B) map[string]Target {
	b.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	key := turn.GenerateAuthKey("u", "r", "p")
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         "r",
		LoggerFactory: logs,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == "u"
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
			RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	ct := coturn.Start(b, coturn.Config{User: "u", Password: "p", Realm: "r"})
	target := func(port int) Target {
		s, err := ParseServer(fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port))
		if err != nil {
			b.Fatal(err)
		}
		s.Username, s.Password = "u", "p"
		return Target{Server: s, Transport: UDP}
	}
	return map[string]Target{
		"pion":   target(pc.LocalAddr().(*net.UDPAddr).Port),
		"coturn": target(ct.Port),
	}
}

// dialFromRandomLoopback connects over UDP from a random 127.x.y.z source.
// coturn keeps a released allocation's 5-tuple for a while and answers a
// new Allocate on it with 437; thousands of clients from 127.0.0.1 alone
// would soon reuse an ephemeral port, as thousands of real clients from
// distinct addresses would not.
func dialFromRandomLoopback(t Target) (*turnClient, error) {
	local := &net.UDPAddr{IP: net.IPv4(127, byte(rand.IntN(256)), byte(rand.IntN(256)), byte(1+rand.IntN(254)))} //nolint:gosec // spreading addresses, not security
	conn, err := net.DialUDP("udp", local, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: t.Server.URI.Port})
	if err != nil {
		return nil, err
	}
	return newTURNClient(conn, t, time.Now()), nil
}

// BenchmarkTURNAllocate measures allocations per second: connect, Allocate
// (with the 401 challenge), release with a zero-lifetime Refresh.
func BenchmarkTURNAllocate(b *testing.B) {
	for name, t := range benchTargets(b) {
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					c, err := dialFromRandomLoopback(t)
					if err != nil {
						cancel()
						b.Fatal(err)
					}
					if _, err := c.allocate(ctx, 0); err != nil {
						b.Fatal(err)
					}
					if err := c.release(ctx); err != nil {
						b.Fatal(err)
					}
					_ = c.Close()
					cancel()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allocs/s")
		})
	}
}

// BenchmarkTURNRelayedEcho measures relayed round trips per second: one
// packet relay A → relay B over a bound channel and its echo back.
func BenchmarkTURNRelayedEcho(b *testing.B) {
	for name, t := range benchTargets(b) {
		b.Run(name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var clients [2]*turnClient
			var relays [2]*net.UDPAddr
			for i := range clients {
				c, err := dialTURN(ctx, t)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				a, err := c.allocate(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				clients[i], relays[i] = c, a.Relayed
			}
			for i, c := range clients {
				peer := relays[1-i]
				if err := c.createPermission(ctx, peer); err != nil {
					b.Fatal(err)
				}
				if err := c.channelBind(ctx, firstChannel, peer); err != nil {
					b.Fatal(err)
				}
				_ = c.conn.SetDeadline(time.Now().Add(time.Minute))
			}
			a, peer := clients[0], clients[1]
			payload := make([]byte, 100)
			b.SetBytes(int64(2 * len(payload)))
			b.ResetTimer()
			for range b.N {
				if err := a.sendData(relays[1], firstChannel, payload); err != nil {
					b.Fatal(err)
				}
				d, err := peer.readData()
				if err != nil {
					b.Fatal(err)
				}
				if err := peer.sendData(relays[0], firstChannel, d.Payload); err != nil {
					b.Fatal(err)
				}
				if _, err := a.readData(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "relayed-packets/s")
		})
	}
}
