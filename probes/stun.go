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
	// Sockets, when set, lends a probe over UDP the socket a clean probe
	// of the same server left, and keeps this one's if it ends clean.
	Sockets *UDPSockets
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
	conn, err := cfg.Sockets.dial(ctx, t)
	if err != nil {
		return Failed(err)
	}
	kept := false
	defer func() {
		if !kept {
			_ = conn.Close()
		}
	}()
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
	)
	requests := cfg.Count
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
				se.REST = t.Server.REST != nil
			}
			if x.stream && (isTimeout(err) || errors.Is(err, errBindingIgnored)) {
				// Nothing is lost over a stream: the request the deadline
				// cut short was neither answered nor lost, so it is left
				// out of the count (or the server ignores Binding).
				requests = i
				if x.turnAnswers != nil {
					requests = i + 1
				}
				x.noteUnfinished(ctx, t, sent)
				break
			}
			if errors.As(err, &se) || isFatal(err) {
				m.Err = classify(err, t, start, StageFirstAnswer)
				return m
			}
			if len(rtts) == 0 && x.stray == 0 && x.turnAnswers == nil {
				answered := x.answersTURN(ctx)
				x.turnAnswers = &answered
			}
			continue // lost: counted below
		}
		rtts = append(rtts, time.Since(sent))
		mapped = addr
	}
	m.SetMetric("requests", float64(requests))
	m.SetMetric("responses", float64(len(rtts)))
	m.SetMetric("stray_answers", float64(x.stray))
	if x.stream {
		m.SetMetric("answer_stall_ms", ms(x.stall))
	}
	if len(rtts) == 0 {
		m.Err = noBindingAnswer(t, x, time.Since(start))
		return m
	}
	m.SetMetric("loss_pct", LossPct(requests, len(rtts)))
	rtts.Record(&m, "rtt")
	Observe(ctx, Observation{Step: "Binding request", Transport: string(t.Transport), To: t.Addr(), Outcome: OutcomeAnswered,
		AfterMS: m.Metrics["rtt_median_ms"], Note: fmt.Sprintf("%d of %d answered (median round trip)", len(rtts), requests)})
	m.AddEvidence("mapped_address", net.JoinHostPort(mapped.IP.String(), fmt.Sprint(mapped.Port)))
	m.AddEvidence("mapped_family", ipFamily(mapped.IP))
	m.AddEvidence("local_address", conn.LocalAddr().String())
	if cfg.Sockets != nil && t.Transport == UDP && len(rtts) == requests && requests == cfg.Count && x.stray == 0 && x.turnAnswers == nil && stop() {
		// Nothing is outstanding on it: the next probe of this server may
		// use it.
		kept = true
		cfg.Sockets.keep(conn)
	}
	return m
}

// noBindingAnswer names why no Binding request was answered: answers that
// matched no request, a server that answers TURN but not Binding, a
// connected stream that stays silent, or plain silence.
func noBindingAnswer(t Target, x *bindingExchange, after time.Duration) error {
	turnAnswers := x.turnAnswers != nil && *x.turnAnswers
	switch {
	case x.stray > 0:
		return &StrayAnswerError{Addr: t.Addr(), Transport: t.Transport, Count: x.stray}
	case turnAnswers || t.Transport != UDP:
		have, want := x.frames.pending()
		return &NoSTUNError{Addr: t.Addr(), Transport: t.Transport, After: after, AnswersTURN: turnAnswers, Partial: have, Announced: want}
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
//
// Over UDP a request unanswered after wait is lost and the next one is
// sent. Over a stream (TCP, TLS) nothing is retransmitted (RFC 8489
// §6.2.2): each request's answer is waited for until the probe's
// deadline, however slowly it arrives, and the next request goes only
// after it.
type bindingExchange struct {
	conn   net.Conn
	wait   time.Duration
	tr     Transport
	stream bool
	// frames is the connection's one reader: over TCP an answer that
	// comes after its request timed out must not desync the next.
	frames *frameReader
	ours   map[[stun.TransactionIDSize]byte]bool
	stray  int
	// answered is set once any Binding answer came back.
	answered bool
	// turnAnswers is set once an Allocate was tried on a silent
	// connection: whether the server answers TURN while ignoring Binding.
	turnAnswers *bool
	turnTID     [stun.TransactionIDSize]byte
	// stall is the longest time between the first and the last bytes of
	// one answer on a stream.
	stall time.Duration
	// Set after a 401 challenge; refreshed once on a 438.
	username, realm, nonce string
	key                    stun.MessageIntegrity
	refreshed              bool
}

func newBindingExchange(conn net.Conn, tr Transport, wait time.Duration) *bindingExchange {
	stream := tr.Network() == "tcp"
	return &bindingExchange{conn: conn, wait: wait, tr: tr, stream: stream, frames: newFrameReader(conn, stream),
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
	sent := time.Now()
	if err := x.send(ctx, req.Raw); err != nil {
		return nil, err
	}
	for skipped := 0; ; {
		raw, err := x.frames.next()
		if err != nil {
			if isFrameError(err) {
				err = &ProtocolError{Addr: x.conn.RemoteAddr().String(), Err: err}
			}
			if x.stream && isTimeout(err) && ctx.Err() == nil {
				if err := x.keepWaiting(ctx); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		if x.isTURNAnswer(raw) {
			// The server answered the later Allocate and not this Binding:
			// over one stream answers come in order, so the Binding was
			// ignored, not slow.
			return nil, errBindingIgnored
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
		x.answered = true
		x.noteArrival(ctx, sent)
		return addr, err
	}
}

// errBindingIgnored ends a stream exchange whose Binding went unanswered
// while a later Allocate was answered.
var errBindingIgnored = errors.New("the Binding request was ignored while an Allocate was answered")

// keepWaiting runs when wait passed without the answer on a stream: the
// request is not sent again. On a connection that has answered nothing
// and shows no byte of an answer, one Allocate goes out to learn whether
// the server answers TURN while ignoring Binding (coturn no-stun). Then
// the answer is waited for until the probe's deadline.
func (x *bindingExchange) keepWaiting(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	if err := x.conn.SetDeadline(deadline); err != nil {
		return err
	}
	if have, _ := x.frames.pending(); !x.answered && have == 0 && x.turnAnswers == nil {
		no := false
		x.turnAnswers = &no
		req, err := allocateProbe()
		if err != nil {
			return err
		}
		x.turnTID = req.TransactionID
		x.ours[req.TransactionID] = true
		if _, err := x.conn.Write(req.Raw); err != nil {
			return err
		}
	}
	return nil
}

// isTURNAnswer reports whether raw answers the Allocate keepWaiting sent.
func (x *bindingExchange) isTURNAnswer(raw []byte) bool {
	if x.turnAnswers == nil {
		return false
	}
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if msg.Decode() != nil || msg.TransactionID != x.turnTID || msg.Type.Method != stun.MethodAllocate {
		return false
	}
	*x.turnAnswers = true
	return true
}

// noteArrival records an answer that came off a stream in parts, its
// first bytes long before its last: the server, or a middlebox holding
// the stream, stalls mid-message although the path is fast.
func (x *bindingExchange) noteArrival(ctx context.Context, sent time.Time) {
	a := x.frames.last
	if !x.stream || a.reads < 2 || a.began.IsZero() {
		return
	}
	gap := time.Since(a.began)
	x.stall = max(x.stall, gap)
	if gap < stallNoted {
		return
	}
	Observe(ctx, Observation{Step: "Binding request", Transport: string(x.tr), To: x.conn.RemoteAddr().String(),
		Outcome: OutcomeAnswered, AfterMS: ms(time.Since(sent)),
		Note: fmt.Sprintf("the answer came in %d parts: its first bytes %s after the request, its last %s after those", a.reads, roundDur(a.began.Sub(sent)), roundDur(gap))})
}

// stallNoted is the pause inside one answer worth an observation; TCP
// segments of one message on a working path arrive microseconds apart.
const stallNoted = 50 * time.Millisecond

// noteUnfinished records the request the deadline cut short on a stream,
// with the part of its answer that had arrived.
func (x *bindingExchange) noteUnfinished(ctx context.Context, t Target, sent time.Time) {
	if x.turnAnswers != nil && *x.turnAnswers {
		return // the final error says it
	}
	have, want := x.frames.pending()
	if !x.answered && have == 0 {
		return // the final error is this silence
	}
	o := Observation{Step: "Binding request", Transport: string(t.Transport), To: t.Addr(), Outcome: OutcomeSilence, AfterMS: ms(time.Since(sent)),
		Note: "still unanswered when the probe's time ran out; not sent again (no retransmission over a stream, RFC 8489 §6.2.2)"}
	if have > 0 {
		o.Note = joinNote(o.Note, "had received "+partialNote(have, want))
	}
	Observe(ctx, o)
}

// partialNote words an answer that began but did not complete.
func partialNote(have, want int) string {
	switch {
	case want > 0:
		return fmt.Sprintf("the first %d of the %d bytes of a message", have, want)
	case have == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", have)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
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
	req, err := allocateProbe()
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

// allocateProbe is an unauthenticated Allocate for a UDP relay: a TURN
// server answers it (401) even with STUN Binding turned off.
func allocateProbe() (*stun.Message, error) {
	return stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, stun.Fingerprint)
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
