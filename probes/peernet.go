package probes

import (
	"net"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// peerReadBuffer is the receive buffer asked for on the UDP sockets of
// rtcprobe's own peers (the kernel caps it at net.core.rmem_max). Two
// peers in one process send as fast as their congestion control lets
// them: a data channel's 4 MiB, with a receive window as large as
// Chrome's, overflowed the default 208 KiB, and the kernel dropped a few
// hundred datagrams per transfer, a loss of rtcprobe's own making that
// cost the transfer a retransmission timeout one time in five (60 ms
// became 400 ms to 1.3 s).
const peerReadBuffer = 4 << 20

// peerNet is the machine's network with larger socket receive buffers
// for the peers' UDP sockets (ICE's host and server-reflexive ones). Only
// peers kept on loopback get it: there the socket buffer, not a network,
// is what limits two peers; elsewhere pion's own network stays, as the
// firewall labs have it.
type peerNet struct{ transport.Net }

func newPeerNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return peerNet{n}, nil
}

func (n peerNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		_ = c.SetReadBuffer(peerReadBuffer) // a smaller buffer only costs drops
	}
	return c, err
}

func (n peerNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if b, ok := c.(interface{ SetReadBuffer(int) error }); err == nil && ok {
		_ = b.SetReadBuffer(peerReadBuffer)
	}
	return c, err
}
