package exporter

import (
	"fmt"
	"strconv"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
)

// defaultModules are the modules of `rtcprobe serve` without a config:
// the documented ones, each allowed to probe only the embedded server
// (its STUN/TURN port and its TLS/DTLS port) with its throw-away
// credential. They are parsed as any config is.
const defaultModules = `
x-embedded: &embedded
  allowed_targets: ["127.0.0.1:${PORT}", "127.0.0.1:${TLS_PORT}"]
  credentials: {username: "${USER}", password: "${PASSWORD}"}
modules:
  stun_udp:
    <<: *embedded
    description: STUN Binding requests over UDP (RFC 8489); round-trip time and loss.
    checks: [stun.udp]
  stun_tcp:
    <<: *embedded
    description: STUN Binding requests over TCP.
    checks: [stun.tcp]
  turn_udp:
    <<: *embedded
    description: TURN over UDP (RFC 8656); two allocations and 5 packets relayed between them, 1 ms apart (no IPv6 relay request).
    checks: [turn.udp]
    options: {turn_packets: 5, turn_interval: 1ms, turn_ipv6: false}
  turn_tcp:
    <<: *embedded
    description: TURN over TCP; allocations and 5 relayed packets.
    checks: [turn.tcp]
    options: {turn_packets: 5, turn_interval: 1ms, turn_ipv6: false}
  turn_tls:
    <<: *embedded
    description: TURN over TLS (turns:); allocations and 5 relayed packets.
    checks: [turn.tls]
    options: {turn_packets: 5, turn_interval: 1ms, turn_ipv6: false}
  ice_relay:
    <<: *embedded
    description: Two WebRTC peers connect relay-only through the TURN server, as a browser would.
    checks: [ice.relay]
  firewall:
    <<: *embedded
    description: Which transports and ports reach the server (UDP, TCP, TLS).
    checks: [firewall]
`

// DefaultModules are the documented modules bound to a running embedded
// server.
func DefaultModules(catalog []*checks.Check, srv *iceserver.Server) (map[string]*config.Module, error) {
	user, password := srv.Credentials()
	vars := map[string]string{"PORT": strconv.Itoa(srv.Port()), "TLS_PORT": strconv.Itoa(srv.TLSPort()), "USER": user, "PASSWORD": password}
	cfg, err := config.Parse("default modules", []byte(defaultModules), config.Env{Catalog: checks.Entries(catalog),
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	if err != nil {
		return nil, fmt.Errorf("default modules: %w", err)
	}
	return cfg.Modules, nil
}
