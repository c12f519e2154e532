package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v4"
)

// TURN servers send two kinds of frames on a client connection: STUN
// messages (responses, Data indications) and ChannelData messages, told
// apart by the first two bits (RFC 8656 §12).

const (
	stunHeaderSize    = 20
	channelHeaderSize = 4
	// maxFrame bounds what one read accepts: a UDP datagram's payload.
	maxFrame = 64 * 1024
)

var (
	errOtherFrame = errors.New("not an answer to this transaction")
	errNotData    = errors.New("not relayed data")
)

// parseTURNResponse decodes a frame expected to answer the request with
// transaction ID tid and method. It returns the message for a success
// response, the message and a *STUNError for an error response, and
// errOtherFrame for anything else that is valid (ChannelData, indications,
// answers to earlier retransmissions).
func parseTURNResponse(raw []byte, tid [stun.TransactionIDSize]byte, method stun.Method) (*stun.Message, error) {
	if len(raw) >= 1 && raw[0]>>6 == 1 {
		return nil, errOtherFrame
	}
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := msg.Decode(); err != nil {
		return nil, fmt.Errorf("not a STUN message: %w", err)
	}
	if msg.TransactionID != tid {
		return nil, errOtherFrame
	}
	if msg.Type.Method != method {
		return nil, fmt.Errorf("%s in answer to a %s request", msg.Type, method)
	}
	if msg.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(msg); err != nil {
			return nil, fmt.Errorf("bad FINGERPRINT: %w", err)
		}
	}
	switch msg.Type.Class {
	case stun.ClassSuccessResponse:
		return msg, nil
	case stun.ClassErrorResponse:
		se := stunError(msg, method.String())
		if se.Code == 0 {
			return nil, errors.New("error response without a valid ERROR-CODE")
		}
		if se.Reason == "" {
			se.Reason = reasonPhrases[se.Code] // some servers send the code alone
		}
		return msg, se
	}
	return nil, fmt.Errorf("unexpected %s", msg.Type)
}

// relayedData is one packet a peer sent through the relay.
type relayedData struct {
	// Channel is the channel number for ChannelData, 0 for a Data
	// indication (which names Peer instead).
	Channel uint16
	Peer    *net.UDPAddr
	Payload []byte
}

// parseRelayedData decodes a ChannelData message or a Data indication;
// anything else is errNotData. Payload aliases raw for ChannelData.
func parseRelayedData(raw []byte) (relayedData, error) {
	if len(raw) < channelHeaderSize {
		return relayedData{}, fmt.Errorf("frame of %d bytes is too short", len(raw))
	}
	if raw[0]>>6 == 1 {
		ch := binary.BigEndian.Uint16(raw[:2])
		n := int(binary.BigEndian.Uint16(raw[2:4]))
		if ch > 0x7FFF {
			return relayedData{}, fmt.Errorf("channel number %#04x out of range", ch)
		}
		// Over UDP the datagram may carry padding after the data.
		if channelHeaderSize+n > len(raw) {
			return relayedData{}, fmt.Errorf("ChannelData claims %d bytes but carries %d", n, len(raw)-channelHeaderSize)
		}
		return relayedData{Channel: ch, Payload: raw[channelHeaderSize : channelHeaderSize+n]}, nil
	}
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := msg.Decode(); err != nil {
		return relayedData{}, fmt.Errorf("not a STUN message: %w", err)
	}
	if msg.Type != stun.NewType(stun.MethodData, stun.ClassIndication) {
		return relayedData{}, errNotData
	}
	var peer stun.XORMappedAddress
	if err := peer.GetFromAs(msg, stun.AttrXORPeerAddress); err != nil {
		return relayedData{}, fmt.Errorf("data indication without XOR-PEER-ADDRESS: %w", err)
	}
	data, err := msg.Get(stun.AttrData)
	if err != nil {
		return relayedData{}, fmt.Errorf("data indication without DATA: %w", err)
	}
	return relayedData{Peer: &net.UDPAddr{IP: peer.IP, Port: peer.Port}, Payload: data}, nil
}

// allocation is what a successful Allocate response says.
type allocation struct {
	Relayed  *net.UDPAddr
	Mapped   *net.UDPAddr // nil when the server sent no XOR-MAPPED-ADDRESS
	Lifetime uint32
	Software string
	// Granted is when the success response arrived: the lifetime counts
	// from there.
	Granted time.Time
}

// parseAllocation reads the attributes of an Allocate success response.
func parseAllocation(msg *stun.Message) (allocation, error) {
	var a allocation
	var relayed stun.XORMappedAddress
	if err := relayed.GetFromAs(msg, stun.AttrXORRelayedAddress); err != nil {
		return a, fmt.Errorf("allocate success without XOR-RELAYED-ADDRESS: %w", err)
	}
	a.Relayed = &net.UDPAddr{IP: relayed.IP, Port: relayed.Port}
	var mapped stun.XORMappedAddress
	if err := mapped.GetFrom(msg); err == nil {
		a.Mapped = &net.UDPAddr{IP: mapped.IP, Port: mapped.Port}
	}
	if v, err := msg.Get(stun.AttrLifetime); err == nil && len(v) == 4 {
		a.Lifetime = binary.BigEndian.Uint32(v)
	}
	a.Granted = time.Now()
	var sw stun.Software
	if err := sw.GetFrom(msg); err == nil {
		a.Software = fromNetwork(sw.String())
	}
	return a, nil
}

// reasonPhrases are the registered reason phrases (RFC 8489 §14.8, RFC 8656
// §18.11) for servers that leave them out.
var reasonPhrases = map[int]string{
	300: "Try Alternate", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 420: "Unknown Attribute",
	437: "Allocation Mismatch", 438: "Stale Nonce", 440: "Address Family not Supported", 441: "Wrong Credentials",
	442: "Unsupported Transport Protocol", 443: "Peer Address Family Mismatch", 486: "Allocation Quota Reached",
	500: "Server Error", 508: "Insufficient Capacity",
}
