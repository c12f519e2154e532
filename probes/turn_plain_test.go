package probes_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// A turns: URI aimed at a port that serves STUN in the clear and resets a
// TLS ClientHello: the handshake's failure is followed by one Binding
// request in the clear, whose answer the observations record.
func TestTLSResetFollowUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go plainSTUN(c)
		}
	}()
	s := mustServer(t, "turns:"+ln.Addr().String()+"?transport=tcp", "u", "p")
	ctx, log := probes.Recording(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m := probes.TURN(ctx, probes.Target{Server: s, Transport: probes.TLS, TLS: &tls.Config{InsecureSkipVerify: true}}, fastTURN) //nolint:gosec // no certificate is reached
	var te *probes.TLSError
	if !errors.As(m.Err, &te) {
		t.Fatalf("err = %v (%T), want a TLS failure", m.Err, m.Err)
	}
	obs := log.Take(m.Err)
	var found bool
	for _, o := range obs {
		found = found || strings.HasPrefix(o.Step, "follow-up: STUN Binding request in the clear") && o.Outcome == probes.OutcomeAnswered
	}
	if !found {
		t.Errorf("no answered follow-up in the clear among %+v", obs)
	}
}

// plainSTUN resets a connection that starts with a TLS record and answers
// one Binding request otherwise.
func plainSTUN(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 20)
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		return
	}
	if buf[0] == 0x16 { // a TLS handshake record
		_ = c.(*net.TCPConn).SetLinger(0)
		return
	}
	if _, err := io.ReadFull(c, buf[1:]); err != nil {
		return
	}
	n := int(buf[2])<<8 | int(buf[3])
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	req := &stun.Message{Raw: append(buf, body...)}
	if req.Decode() != nil {
		return
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 1}, stun.Fingerprint)
	if err == nil {
		_, _ = c.Write(resp.Raw)
	}
}
