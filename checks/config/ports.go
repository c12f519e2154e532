package config

import (
	"strconv"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// PortSpec is one entry of the firewall ports: a port and the transports tried on it.
type PortSpec struct {
	Port       int
	Transports []probes.Transport
}

// conventionalTransports are what servers usually run on a bare port:
// 5349 is the TLS port (RFC 5766), 443 carries TLS (and often UDP and
// plain TCP) to get through web-only firewalls, anything else UDP+TCP.
func conventionalTransports(port int) []probes.Transport {
	switch port {
	case 5349:
		return []probes.Transport{probes.TLS}
	case 443:
		return []probes.Transport{probes.UDP, probes.TCP, probes.TLS}
	}
	return []probes.Transport{probes.UDP, probes.TCP}
}

// ParsePorts reads a port list: comma-separated PORT or PORT/udp|tcp|tls
// ("3478,5349,443/tls"). An error names the bad entry.
func ParsePorts(spec string) ([]PortSpec, error) {
	var out []PortSpec
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, &entryError{entry, "empty entry: want PORT or PORT/udp|tcp|tls"}
		}
		num, tr, hasTr := strings.Cut(entry, "/")
		port, err := strconv.Atoi(num)
		if err != nil || port < 1 || port > 65535 || num != strconv.Itoa(port) {
			return nil, &entryError{entry, "port must be 1-65535"}
		}
		ps := PortSpec{Port: port, Transports: conventionalTransports(port)}
		if hasTr {
			t := probes.Transport(strings.ToLower(tr))
			if t != probes.UDP && t != probes.TCP && t != probes.TLS {
				return nil, &entryError{entry, "transport must be udp, tcp or tls"}
			}
			ps.Transports = []probes.Transport{t}
		}
		out = append(out, ps)
	}
	return out, nil
}
