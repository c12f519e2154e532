package probes

import (
	"errors"
	"net"
	"testing"

	"github.com/pion/stun/v4"
)

func TestParseBindingResponse(t *testing.T) {
	tid := stun.NewTransactionID()
	ok, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.ParseIP("192.0.2.7"), Port: 4242}, stun.Fingerprint)
	addr, err := parseBindingResponse(ok.Raw, tid)
	if err != nil || addr.IP.String() != "192.0.2.7" || addr.Port != 4242 {
		t.Fatalf("success: %v %v", addr, err)
	}

	plain, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.BindingSuccess,
		&stun.MappedAddress{IP: net.ParseIP("192.0.2.8"), Port: 1})
	if addr, err := parseBindingResponse(plain.Raw, tid); err != nil || addr.Port != 1 {
		t.Errorf("RFC 3489 MAPPED-ADDRESS: %v %v", addr, err)
	}

	other, _ := stun.Build(stun.TransactionID, stun.BindingSuccess)
	if _, err := parseBindingResponse(other.Raw, tid); !errors.Is(err, errOtherTransaction) {
		t.Errorf("other transaction: %v", err)
	}

	e401, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodBinding, stun.ClassErrorResponse),
		stun.CodeUnauthorized, stun.NewRealm("example.org"))
	var se *STUNError
	if _, err := parseBindingResponse(e401.Raw, tid); !errors.As(err, &se) || se.Code != 401 || se.Realm != "example.org" {
		t.Errorf("401: %v", err)
	}

	empty, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.BindingSuccess)
	if _, err := parseBindingResponse(empty.Raw, tid); err == nil {
		t.Error("success without an address was accepted")
	}

	bad := append([]byte(nil), ok.Raw...)
	bad[len(bad)-1] ^= 0xff // corrupt the FINGERPRINT
	if _, err := parseBindingResponse(bad, tid); err == nil {
		t.Error("bad FINGERPRINT was accepted")
	}
}

// FuzzParseBindingResponse feeds arbitrary server answers to the parser:
// it must return an address or an error, never panic.
func FuzzParseBindingResponse(f *testing.F) {
	tid := stun.NewTransactionID()
	ok, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.ParseIP("::1"), Port: 9}, stun.Fingerprint)
	e, _ := stun.Build(stun.NewTransactionIDSetter(tid), stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.CodeUnauthorized)
	f.Add(ok.Raw)
	f.Add(e.Raw)
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		addr, err := parseBindingResponse(raw, tid)
		if err == nil && addr == nil {
			t.Fatal("nil address without error")
		}
	})
}
