package iceserver

import (
	"net"
	"strings"

	"github.com/pion/turn/v5"
)

// dualStackRelay hands out relays on the server's IPv4 address, or on ::1
// when a client asks for an IPv6 relay with REQUESTED-ADDRESS-FAMILY (RFC
// 6156, which pion/turn passes on as the allocation's network, "udp6").
type dualStackRelay struct{ v4, v6 turn.RelayAddressGenerator }

func newRelay(host string) turn.RelayAddressGenerator {
	static := func(ip string) turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(ip), Address: ip}
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
		return static(host)
	}
	return dualStackRelay{v4: static(host), v6: static("::1")}
}

func (d dualStackRelay) pick(network string) turn.RelayAddressGenerator {
	if strings.HasSuffix(network, "6") {
		return d.v6
	}
	return d.v4
}

func (d dualStackRelay) Validate() error {
	if err := d.v4.Validate(); err != nil {
		return err
	}
	return d.v6.Validate()
}

func (d dualStackRelay) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	return d.pick(c.Network).AllocatePacketConn(c)
}

func (d dualStackRelay) AllocateListener(c turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return d.pick(c.Network).AllocateListener(c)
}

func (d dualStackRelay) AllocateConn(c turn.AllocateConnConfig) (net.Conn, error) {
	return d.pick(c.Network).AllocateConn(c)
}
