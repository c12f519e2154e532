package probes

import (
	"net"
	"strings"
	"testing"

	"github.com/pion/stun/v4"
)

// What a STUN/TURN server writes in a reason phrase, a REALM or SOFTWARE
// is escaped where it enters a probe's result, NUL padding dropped, and
// cut to maxNetworkText bytes.
func TestServerStringsSanitized(t *testing.T) {
	tid := [stun.TransactionIDSize]byte{1, 2, 3}
	failure, err := stun.Build(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse),
		&stun.ErrorCodeAttribute{Code: 403, Reason: []byte("Forbidden\x1b[2J\x1b]0;owned\x07\x00\x00\x00")},
		stun.NewRealm("evil\x1b[31m.realm"), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseTURNResponse(failure.Raw, tid, stun.MethodAllocate)
	se, ok := err.(*STUNError)
	if !ok {
		t.Fatalf("err = %v, want a *STUNError", err)
	}
	if se.Reason != `Forbidden\x1b[2J\x1b]0;owned\x07` || se.Realm != `evil\x1b[31m.realm` {
		t.Errorf("reason %q, realm %q: not sanitized", se.Reason, se.Realm)
	}

	success, err := stun.Build(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse),
		setterFunc(func(m *stun.Message) error {
			return stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 5000}.AddToAs(m, stun.AttrXORRelayedAddress)
		}),
		stun.NewSoftware("coturn\x07 "+strings.Repeat("x", 600)), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := parseTURNResponse(success.Raw, tid, stun.MethodAllocate)
	if err != nil {
		t.Fatal(err)
	}
	a, err := parseAllocation(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Software, `coturn\x07 xxx`) || len(a.Software) > maxNetworkText+len(`\x07`)+len("…") {
		t.Errorf("SOFTWARE %q (%d bytes): not sanitized and cut", a.Software[:20], len(a.Software))
	}
}
