package probes

import (
	"context"
	"errors"
	"fmt"
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
// and measures round-trip times, loss and the mapped address. A server
// that demands long-term credentials (401 to a Binding) gets them when the
// target has some. Metrics: rtt_{min,median,p95,max}_ms, loss_pct,
// requests, responses, stray_answers (answers whose transaction ID
// matches no request), and connect_ms for TCP/TLS. Evidence:
// mapped_address, mapped_family, local_address, authenticated.
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
		x      = newBindingExchange(conn, t.Transport, cfg.RequestTimeout)
		// turnAnswers is set once a TURN request was tried on a silent
		// server: whether it answers TURN while ignoring Binding.
		turnAnswers *bool
	)
	for i := 0; i < cfg.Count && ctx.Err() == nil; i++ {
		sent := time.Now()
		addr, err := x.roundTrip(ctx)
		var se *STUNError
		if errors.As(err, &se) && x.answerChallenge(se, t.Server) {
			m.AddEvidence("authenticated", fmt.Sprintf("the server asked for credentials (%d); Binding sent with long-term credentials for realm %q", se.Code, se.Realm))
			i--
			continue
		}
		if err != nil {
			if errors.As(err, &se) {
				se.Authenticated = x.key != nil
			}
			if errors.As(err, &se) || isFatal(err) {
				m.Err = classify(err, t, start, StageFirstAnswer)
				return m
			}
			if len(rtts) == 0 && x.stray == 0 && turnAnswers == nil {
				answered := x.answersTURN(ctx)
				turnAnswers = &answered
			}
			continue // lost: counted below
		}
		rtts = append(rtts, time.Since(sent))
		mapped = addr
	}
	m.SetMetric("requests", float64(cfg.Count))
	m.SetMetric("responses", float64(len(rtts)))
	m.SetMetric("stray_answers", float64(x.stray))
	if len(rtts) == 0 {
		m.Err = noBindingAnswer(t, x, turnAnswers != nil && *turnAnswers, time.Since(start))
		return m
	}
	m.SetMetric("loss_pct", LossPct(cfg.Count, len(rtts)))
	rtts.Record(&m, "rtt")
	m.AddEvidence("mapped_address", net.JoinHostPort(mapped.IP.String(), fmt.Sprint(mapped.Port)))
	m.AddEvidence("mapped_family", ipFamily(mapped.IP))
	m.AddEvidence("local_address", conn.LocalAddr().String())
	return m
}

// noBindingAnswer names why no Binding request was answered: answers that
// matched no request, a server that answers TURN but not Binding, a
// connected stream that stays silent, or plain silence.
func noBindingAnswer(t Target, x *bindingExchange, turnAnswers bool, after time.Duration) error {
	switch {
	case x.stray > 0:
		return &StrayAnswerError{Addr: t.Addr(), Transport: t.Transport, Count: x.stray}
	case turnAnswers || t.Transport != UDP:
		return &NoSTUNError{Addr: t.Addr(), Transport: t.Transport, After: after, AnswersTURN: turnAnswers}
	}
	if t.Transport == UDP {
		return udpSilence(t, after)
	}
	return &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: after}
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

// bindingExchange is the state of Binding requests on one connection:
// the transaction IDs sent (so a late answer is not mistaken for a stray
// one), answers that matched none, and long-term credentials once the
// server asked for them.
type bindingExchange struct {
	conn net.Conn
	wait time.Duration
	// frames is the connection's one reader: over TCP an answer that
	// comes after its request timed out must not desync the next.
	frames *frameReader
	ours   map[[stun.TransactionIDSize]byte]bool
	stray  int
	// Set after a 401 challenge; refreshed once on a 438.
	username, realm, nonce string
	key                    stun.MessageIntegrity
	refreshed              bool
}

func newBindingExchange(conn net.Conn, tr Transport, wait time.Duration) *bindingExchange {
	return &bindingExchange{conn: conn, wait: wait, frames: newFrameReader(conn, tr.Network() == "tcp"),
		ours: map[[stun.TransactionIDSize]byte]bool{}}
}

// answerChallenge takes up a 401 (or, once, a 438 stale nonce) when the
// server has credentials to answer with; it reports whether the request
// should be sent again.
func (x *bindingExchange) answerChallenge(se *STUNError, s Server) bool {
	switch {
	case se.Code == 401 && x.key == nil && se.nonce != "" && s.Username != "":
		x.username, x.realm, x.nonce = s.Username, se.rawRealm, se.nonce
		x.key = stun.NewLongTermIntegrity(s.Username, se.rawRealm, s.Password)
		return true
	case se.Code == 438 && x.key != nil && !x.refreshed && se.nonce != "":
		x.refreshed, x.nonce = true, se.nonce
		return true
	}
	return false
}

// roundTrip sends one Binding request and waits for its answer, skipping
// late answers to earlier requests and counting answers to none.
func (x *bindingExchange) roundTrip(ctx context.Context) (*stun.XORMappedAddress, error) {
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if x.key != nil {
		setters = append(setters, stun.NewUsername(x.username), stun.NewRealm(x.realm), stun.NewNonce(x.nonce), x.key)
	}
	req, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		return nil, err
	}
	x.ours[req.TransactionID] = true
	if err := x.send(ctx, req.Raw); err != nil {
		return nil, err
	}
	for skipped := 0; ; {
		raw, err := x.frames.next()
		if err != nil {
			if isFrameError(err) {
				err = &ProtocolError{Addr: x.conn.RemoteAddr().String(), Err: err}
			}
			return nil, err
		}
		addr, err := parseBindingResponse(raw, req.TransactionID)
		if errors.Is(err, errOtherTransaction) {
			x.noteOther(raw)
			if skipped++; skipped > maxStrayFrames {
				return nil, &ProtocolError{Addr: x.conn.RemoteAddr().String(), Err: errStrayFlood}
			}
			continue
		}
		if err != nil {
			var se *STUNError
			if !errors.As(err, &se) {
				err = &ProtocolError{Addr: x.conn.RemoteAddr().String(), Err: err, Bytes: firstBytes(raw)}
			}
		}
		return addr, err
	}
}

// send writes a request with the exchange's per-request deadline.
func (x *bindingExchange) send(ctx context.Context, raw []byte) error {
	deadline := time.Now().Add(x.wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := x.conn.SetDeadline(deadline); err != nil {
		return err
	}
	_, err := x.conn.Write(raw)
	return err
}

// noteOther counts a valid STUN message whose transaction ID is none of
// ours.
func (x *bindingExchange) noteOther(raw []byte) {
	var tid [stun.TransactionIDSize]byte
	copy(tid[:], raw[8:20]) // parseBindingResponse decoded the header
	if !x.ours[tid] {
		x.stray++
	}
}

// answersTURN sends one unauthenticated Allocate on the silent connection:
// a TURN server with STUN Binding turned off still answers it (401).
func (x *bindingExchange) answersTURN(ctx context.Context) bool {
	req, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, stun.Fingerprint)
	if err != nil {
		return false
	}
	x.ours[req.TransactionID] = true
	if x.send(ctx, req.Raw) != nil {
		return false
	}
	for skipped := 0; skipped <= maxStrayFrames; skipped++ {
		raw, err := x.frames.next()
		if err != nil {
			return false
		}
		msg := &stun.Message{Raw: append([]byte(nil), raw...)}
		if msg.Decode() == nil && msg.TransactionID == req.TransactionID {
			return msg.Type.Method == stun.MethodAllocate
		}
	}
	return false
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
// a 401 names; reason and realm are sanitized for display (a client that
// computes a key from the realm reads it from msg).
func stunError(msg *stun.Message, request string) *STUNError {
	se := &STUNError{Request: request}
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(msg); err == nil {
		se.Code, se.Reason = int(code.Code), fromNetwork(string(code.Reason))
	}
	var realm stun.Realm
	if err := realm.GetFrom(msg); err == nil {
		se.Realm, se.rawRealm = fromNetwork(realm.String()), realm.String()
	}
	var nonce stun.Nonce
	if err := nonce.GetFrom(msg); err == nil {
		se.nonce = nonce.String()
	}
	return se
}
