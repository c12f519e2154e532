package probes

import (
	"encoding/binary"
	"net/netip"

	"github.com/pion/stun/v4"
)

// magicCookie is STUN's (RFC 8489 §5), which XOR-PEER-ADDRESS is masked
// with.
const magicCookie = 0x2112A442

// peerAddressAs encodes XOR-PEER-ADDRESS (RFC 8656 §14.3) in the family
// peer is written in: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) goes
// as a 16-byte IPv6 address, the form that slipped past coturn's peer
// filters before 4.9.0 (CVE-2026-27624). pion's encoder folds it into
// IPv4, so the audit encodes the attribute itself.
func peerAddressAs(peer netip.AddrPort) stun.Setter {
	return setterFunc(func(m *stun.Message) error {
		family, ip := byte(1), peer.Addr().AsSlice()
		if !peer.Addr().Is4() {
			family, ip = 2, peer.Addr().WithZone("").AsSlice()
		}
		v := make([]byte, 4+len(ip))
		v[1] = family
		binary.BigEndian.PutUint16(v[2:4], peer.Port()^uint16(magicCookie>>16))
		var key [16]byte
		binary.BigEndian.PutUint32(key[:4], magicCookie)
		copy(key[4:], m.TransactionID[:])
		for i := range ip {
			v[4+i] = ip[i] ^ key[i]
		}
		m.Add(stun.AttrXORPeerAddress, v)
		return nil
	})
}
