package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pion/stun/v4"
)

// STUNConfig sets how many binding requests a STUN probe sends.
type STUNConfig struct {
	// Count is the number of binding requests (default 5).
	Count int
	// RequestTimeout is how long to wait for each answer before counting it
	// lost (default 500ms). The context deadline bounds the whole probe.
	RequestTimeout time.Duration
}

func (c STUNConfig) withDefaults() STUNConfig {
	if c.Count <= 0 {
		c.Count = 5
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 500 * time.Millisecond
	}
	return c
}

// STUN sends Binding requests to t one after another over a fresh socket
// and measures round-trip times, loss and the mapped address. Metrics:
// rtt_{min,median,p95,max}_ms, loss_pct, requests, responses, and
// connect_ms for TCP/TLS. Evidence: mapped_address, mapped_family,
// local_address.
func STUN(ctx context.Context, t Target, cfg STUNConfig) Measurement {
	cfg = cfg.withDefaults()
	if t.Transport == DTLS {
		return Failed(fmt.Errorf("STUN over DTLS: %w", ErrUnsupported))
	}
	start := time.Now()
	conn, err := dial(ctx, t)
	if err != nil {
		return Failed(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	var m Measurement
	if t.Transport != UDP {
		m.SetMetric("connect_ms", ms(time.Since(start)))
	}

	var (
		rtts   Durations
		mapped *stun.XORMappedAddress
	)
	for i := 0; i < cfg.Count && ctx.Err() == nil; i++ {
		sent := time.Now()
		addr, err := bindingRoundTrip(ctx, conn, t.Transport, cfg.RequestTimeout)
		if err != nil {
			var se *STUNError
			if errors.As(err, &se) || isFatal(err) {
				m.Err = classify(err, t, start, StageFirstAnswer)
				return m
			}
			continue // lost: counted below
		}
		rtts = append(rtts, time.Since(sent))
		mapped = addr
	}
	m.SetMetric("requests", float64(cfg.Count))
	m.SetMetric("responses", float64(len(rtts)))
	if len(rtts) == 0 {
		m.Err = &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: time.Since(start)}
		return m
	}
	m.SetMetric("loss_pct", LossPct(cfg.Count, len(rtts)))
	rtts.Record(&m, "rtt")
	m.AddEvidence("mapped_address", net.JoinHostPort(mapped.IP.String(), fmt.Sprint(mapped.Port)))
	m.AddEvidence("mapped_family", ipFamily(mapped.IP))
	m.AddEvidence("local_address", conn.LocalAddr().String())
	return m
}

// isFatal separates errors that end the probe (refused, protocol
// violation, a broken stream) from a single lost datagram.
func isFatal(err error) bool {
	var (
		ne net.Error
		pe *ProtocolError
	)
	if errors.As(err, &pe) {
		return true
	}
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

func ipFamily(ip net.IP) string {
	if ip.To4() != nil {
		return "IPv4"
	}
	return "IPv6"
}

// bindingRoundTrip sends one Binding request and waits for its answer,
// skipping stray datagrams with another transaction ID.
func bindingRoundTrip(ctx context.Context, conn net.Conn, tr Transport, wait time.Duration) (*stun.XORMappedAddress, error) {
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if _, err := conn.Write(req.Raw); err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	for {
		raw, err := readMessage(conn, tr, buf)
		if err != nil {
			return nil, err
		}
		addr, err := parseBindingResponse(raw, req.TransactionID)
		if errors.Is(err, errOtherTransaction) {
			continue
		}
		if err != nil {
			var se *STUNError
			if !errors.As(err, &se) {
				err = &ProtocolError{Addr: conn.RemoteAddr().String(), Err: err}
			}
		}
		return addr, err
	}
}

// readMessage reads one STUN message: a datagram, or a length-framed
// message from a stream (RFC 5389 §7.2.2).
func readMessage(conn net.Conn, tr Transport, buf []byte) ([]byte, error) {
	if tr.Network() == "udp" {
		n, err := conn.Read(buf)
		return buf[:n], err
	}
	if _, err := io.ReadFull(conn, buf[:20]); err != nil {
		return nil, err
	}
	size := 20 + int(binary.BigEndian.Uint16(buf[2:4]))
	if size > len(buf) {
		return nil, &ProtocolError{Addr: conn.RemoteAddr().String(), Err: fmt.Errorf("message of %d bytes exceeds %d", size, len(buf))}
	}
	if _, err := io.ReadFull(conn, buf[20:size]); err != nil {
		return nil, err
	}
	return buf[:size], nil
}

var errOtherTransaction = errors.New("response to another transaction")

// parseBindingResponse decodes what a server sent back for transaction
// tid: the mapped address of a success response, or a *STUNError.
func parseBindingResponse(raw []byte, tid [stun.TransactionIDSize]byte) (*stun.XORMappedAddress, error) {
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := msg.Decode(); err != nil {
		return nil, fmt.Errorf("not a STUN message: %w", err)
	}
	if msg.TransactionID != tid {
		return nil, errOtherTransaction
	}
	if msg.Type.Method != stun.MethodBinding {
		return nil, fmt.Errorf("unexpected %s in answer to a Binding request", msg.Type)
	}
	if msg.Type.Class == stun.ClassErrorResponse {
		return nil, stunError(msg, "Binding")
	}
	if msg.Type.Class != stun.ClassSuccessResponse {
		return nil, fmt.Errorf("unexpected %s", msg.Type)
	}
	if msg.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(msg); err != nil {
			return nil, fmt.Errorf("bad FINGERPRINT: %w", err)
		}
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(msg); err != nil {
		// RFC 3489 servers answer with MAPPED-ADDRESS only.
		var plain stun.MappedAddress
		if err2 := plain.GetFrom(msg); err2 != nil {
			return nil, fmt.Errorf("success response without XOR-MAPPED-ADDRESS: %w", err)
		}
		xor = stun.XORMappedAddress(plain)
	}
	return &xor, nil
}

// stunError turns an error response into a *STUNError, keeping the REALM
// a 401 names.
func stunError(msg *stun.Message, request string) *STUNError {
	se := &STUNError{Request: request}
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(msg); err == nil {
		se.Code, se.Reason = int(code.Code), string(code.Reason)
	}
	var realm stun.Realm
	if err := realm.GetFrom(msg); err == nil {
		se.Realm = realm.String()
	}
	return se
}
