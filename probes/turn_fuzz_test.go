package probes

import (
	"bytes"
	"testing"

	"github.com/pion/stun/v4"
)

// FuzzTURNServerFrames feeds arbitrary bytes through everything that
// parses what a TURN server sends: stream framing, response decoding with
// the error code and realm, Allocate attributes, and relayed data. None of
// it may panic, and a frame read from a stream never exceeds the input.
func FuzzTURNServerFrames(f *testing.F) {
	tid := [stun.TransactionIDSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	seed := func(setters ...stun.Setter) {
		m, err := stun.Build(setters...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Raw)
	}
	relayed := setterFunc(func(m *stun.Message) error {
		return stun.XORMappedAddress{IP: []byte{127, 0, 0, 1}, Port: 50000}.AddToAs(m, stun.AttrXORRelayedAddress)
	})
	seed(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse), relayed,
		&stun.XORMappedAddress{IP: []byte{127, 0, 0, 1}, Port: 4000}, stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 2, 88}}, stun.Fingerprint)
	seed(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse),
		stun.CodeUnauthorized, stun.NewRealm("example.org"), stun.NewNonce("abc"), stun.Fingerprint)
	seed(stun.TransactionID, stun.NewType(stun.MethodData, stun.ClassIndication),
		setterFunc(func(m *stun.Message) error {
			return stun.XORMappedAddress{IP: []byte{127, 0, 0, 1}, Port: 9}.AddToAs(m, stun.AttrXORPeerAddress)
		}), stun.RawAttribute{Type: stun.AttrData, Value: []byte("hello")})
	f.Add([]byte{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0})
	f.Add([]byte{0x40, 0x00, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, raw []byte) {
		if msg, err := parseTURNResponse(raw, tid, stun.MethodAllocate); err == nil {
			_, _ = parseAllocation(msg)
		}
		_, _ = parseRelayedData(raw)
		frames := newFrameReader(bytes.NewReader(raw), true)
		for {
			frame, err := frames.next()
			if err != nil {
				break
			}
			if len(frame) > len(raw) {
				t.Fatalf("frame of %d bytes from %d bytes of input", len(frame), len(raw))
			}
			_, _ = parseTURNResponse(frame, tid, stun.MethodAllocate)
			_, _ = parseRelayedData(frame)
		}
	})
}
