package probes

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/pion/stun/v4"
)

// turnClient speaks TURN (RFC 8656) on one connection: one allocation per
// client. It is written on raw STUN messages rather than a TURN library so
// that every error response keeps its code and REALM, and so the probe
// controls retries and deadlines itself.
type turnClient struct {
	conn   net.Conn
	t      Target
	stream bool
	start  time.Time
	frames *frameReader
	// Set once the server challenged us (401): long-term credentials.
	// nonce changes on a 438 and is read by concurrent posts: under mu.
	realm string
	key   stun.MessageIntegrity
	mu    sync.Mutex
	nonce string
	// posted are requests sent without waiting (refreshes during the
	// relay test), kept to resend once with a fresh nonce on a 438.
	posted map[[stun.TransactionIDSize]byte]postedRequest
	// answered is true once any valid answer arrived: a later silence is
	// a stalled exchange, not a filtered port.
	answered bool
	// released is true once the allocation was released (Close then
	// holds a datagram socket's port a while: turn_release.go).
	released bool
	// quotaWait is the time spent waiting for the quota lease, which
	// another check of the same credential held: not the server's.
	quotaWait time.Duration
}

// initialRTO is the first UDP retransmission timeout. RFC 8489 suggests
// 500 ms for unknown paths; a probe wants to notice loss sooner and still
// backs off exponentially.
const initialRTO = 250 * time.Millisecond

// dialTURN connects to t: UDP, TCP, TLS, or DTLS over UDP.
func dialTURN(ctx context.Context, t Target) (*turnClient, error) {
	start := time.Now()
	var (
		conn net.Conn
		err  error
	)
	if t.Transport == DTLS {
		conn, err = dialDTLS(ctx, t, start)
	} else {
		conn, err = dial(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	return newTURNClient(counted(ctx, conn), t, start), nil
}

func newTURNClient(conn net.Conn, t Target, start time.Time) *turnClient {
	stream := t.Transport.Network() == "tcp"
	return &turnClient{conn: conn, t: t, stream: stream, start: start, frames: newFrameReader(conn, stream)}
}

// verifyLikeTLS checks a certificate chain the way crypto/tls verifies a
// server: chain to roots (nil: the system's) and name matching host, which
// may be an IP address (matched against IP SANs).
func verifyLikeTLS(raw [][]byte, roots *x509.CertPool, host string) error {
	if len(raw) == 0 {
		return errors.New("the server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("bad certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
	return err
}

// dialAllocate connects and allocates a relay. A 437 (allocation
// mismatch: the server still holds an allocation for this 5-tuple, e.g.
// a recently reused source port) is retried once from a fresh port, as
// RFC 8656 §7.2 suggests. retried reports whether that happened.
func dialAllocate(ctx context.Context, t Target, family byte) (c *turnClient, a allocation, retried bool, err error) {
	waited := false
	for attempt := 0; ; attempt++ {
		if noRoom(err) {
			attempt, waited = 0, true // a quota still holding our own released allocations
		}
		c, err = dialTURN(ctx, t)
		if err != nil {
			return nil, a, retried, err
		}
		a, err = c.allocate(ctx, family)
		if err == nil {
			if waited {
				noteFreed(t)
			}
			return c, a, retried, nil
		}
		if family != 0 {
			settle(ctx, c, err) // a refused family may stay charged to the user
		}
		_ = c.Close()
		switch {
		case attempt > 0:
			return nil, a, retried, err
		case hasCode(err, 437):
			retried = true
		case noRoom(err) && !(family == 2 && hasCode(err, 508)) && awaitOwnReleases(ctx, t):
			// A 508 to an IPv6 relay is not waited out: the relays rtcprobe
			// released are IPv4 and hold no IPv6 relay room (a server with
			// no IPv6 relay address answers 508 to every such Allocate).
		default:
			return nil, a, retried, err
		}
	}
}

// allocate asks for a UDP relay. family is 0 (server's choice), 1 (IPv4)
// or 2 (IPv6) for REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.10).
func (c *turnClient) allocate(ctx context.Context, family byte) (allocation, error) {
	return c.allocateRelay(ctx, relayUDP, family)
}

// The REQUESTED-TRANSPORT values: a UDP relay (RFC 8656 §18.7) or a TCP
// relay (RFC 6062 §6.1), by IP protocol number.
const (
	relayUDP byte = 17
	relayTCP byte = 6
)

// allocateRelay asks for a relay of protocol proto (relayUDP, relayTCP).
func (c *turnClient) allocateRelay(ctx context.Context, proto, family byte) (allocation, error) {
	setters := []stun.Setter{stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{proto, 0, 0, 0}}}
	if family != 0 {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrRequestedAddressFamily, Value: []byte{family, 0, 0, 0}})
	}
	msg, err := c.request(ctx, stun.MethodAllocate, setters...)
	if err != nil {
		return allocation{}, err
	}
	a, err := parseAllocation(msg)
	if err != nil {
		return a, &ProtocolError{Addr: c.t.Addr(), Err: err}
	}
	return a, nil
}

// createPermission lets peer's IP send to our relay.
func (c *turnClient) createPermission(ctx context.Context, peer *net.UDPAddr) error {
	_, err := c.request(ctx, stun.MethodCreatePermission, peerAddress(peer))
	return err
}

// channelBind binds channel ch (0x4000-0x4FFF) to peer.
func (c *turnClient) channelBind(ctx context.Context, ch uint16, peer *net.UDPAddr) error {
	_, err := c.request(ctx, stun.MethodChannelBind, channelNumber(ch), peerAddress(peer))
	return err
}

func channelNumber(ch uint16) stun.Setter {
	num := []byte{0, 0, 0, 0}
	binary.BigEndian.PutUint16(num, ch)
	return stun.RawAttribute{Type: stun.AttrChannelNumber, Value: num}
}

func peerAddress(peer *net.UDPAddr) stun.Setter {
	return setterFunc(func(m *stun.Message) error {
		return stun.XORMappedAddress{IP: peer.IP, Port: peer.Port}.AddToAs(m, stun.AttrXORPeerAddress)
	})
}

type setterFunc func(*stun.Message) error

func (f setterFunc) AddTo(m *stun.Message) error { return f(m) }

// request runs one transaction and returns the success response. It
// answers the first 401 challenge with long-term credentials and a 438
// (stale nonce) once with the fresh nonce, as RFC 8489 §9.2.5 asks; any
// other error response is a *STUNError.
func (c *turnClient) request(ctx context.Context, method stun.Method, setters ...stun.Setter) (*stun.Message, error) {
	challenged, refreshed := c.key != nil, false
	for {
		if c.key != nil {
			// Authenticated: an Allocate may now take from the user's
			// quota, which this check's lease must hold (quota_lease.go).
			// Requests posted later (post) come after an allocation.
			held := time.Now()
			if err := HoldQuota(ctx); err != nil {
				return nil, err
			}
			c.quotaWait += time.Since(held)
		}
		sent := time.Now()
		msg, err := c.roundTrip(ctx, method, setters)
		var se *STUNError
		if !errors.As(err, &se) {
			if err == nil {
				c.observe(ctx, method, sent, Observation{Outcome: OutcomeAnswered, Note: grantNote(method, setters, msg)})
			}
			return msg, err
		}
		var (
			nonce stun.Nonce
			realm stun.Realm // as sent: the key is computed from it, se.Realm is for display
		)
		hasNonce := nonce.GetFrom(msg) == nil
		_ = realm.GetFrom(msg)
		switch {
		case se.Code == 401 && !challenged && hasNonce && c.t.Server.Username != "":
			c.observe(ctx, method, sent, Observation{Outcome: OutcomeErrorResponse, Code: se.Code, Reason: se.Reason,
				Note: "a challenge: sent again with long-term credentials"})
			challenged = true
			c.realm = realm.String()
			c.setNonce(nonce.String())
			c.key = stun.NewLongTermIntegrity(c.t.Server.Username, c.realm, c.t.Server.Password)
			continue
		case se.Code == 438 && !refreshed && hasNonce && c.key != nil:
			c.observe(ctx, method, sent, Observation{Outcome: OutcomeErrorResponse, Code: se.Code, Reason: se.Reason,
				Note: "stale nonce: sent again with the fresh one"})
			refreshed = true
			c.setNonce(nonce.String())
			if realm.String() != "" && realm.String() != c.realm {
				c.realm = realm.String()
				c.key = stun.NewLongTermIntegrity(c.t.Server.Username, c.realm, c.t.Server.Password)
			}
			continue
		}
		if se.Realm == "" {
			se.Realm = fromNetwork(c.realm)
		}
		se.Authenticated = c.key != nil
		se.REST = c.t.Server.REST != nil
		return nil, se
	}
}

// grantNote says what an Allocate was granted: the relay's family, asked
// for or the server's default (RFC 8656 §7.2: IPv4), and the lifetime.
func grantNote(method stun.Method, setters []stun.Setter, msg *stun.Message) string {
	if method != stun.MethodAllocate || msg == nil {
		return ""
	}
	a, err := parseAllocation(msg)
	if err != nil {
		return ""
	}
	asked := "no REQUESTED-ADDRESS-FAMILY"
	for _, s := range setters {
		if r, ok := s.(stun.RawAttribute); ok && r.Type == stun.AttrRequestedAddressFamily {
			asked = "REQUESTED-ADDRESS-FAMILY asked"
		}
	}
	family := "IPv4"
	if a.Relayed.IP.To4() == nil {
		family = "IPv6"
	}
	note := fmt.Sprintf("%s; granted an %s relay, %s", asked, family, a.Relayed)
	if a.Lifetime > 0 {
		note += fmt.Sprintf("; LIFETIME %d s", a.Lifetime)
	}
	return note
}

// observe records one exchange of a request that did not end the probe
// (the error that does is recorded by the runner).
func (c *turnClient) observe(ctx context.Context, method stun.Method, sent time.Time, o Observation) {
	o.Step, o.Transport, o.To, o.AfterMS = method.String()+" request", string(c.t.Transport), c.t.Addr(), ms(time.Since(sent))
	Observe(ctx, o)
}

// roundTrip sends one request and waits for its answer under ctx,
// retransmitting over UDP and DTLS with exponential back-off.
func (c *turnClient) roundTrip(ctx context.Context, method stun.Method, setters []stun.Setter) (*stun.Message, error) {
	req, err := c.build(method, setters)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	defer stop()
	// Earlier exchanges may have left a deadline in the past.
	writeBy, _ := ctx.Deadline()
	if err := c.conn.SetWriteDeadline(writeBy); err != nil {
		return nil, c.netError(ctx, err, method)
	}
	rto := initialRTO
	for {
		if err := ctx.Err(); err != nil {
			return nil, c.netError(ctx, err, method)
		}
		if _, err := c.conn.Write(req.Raw); err != nil {
			return nil, c.netError(ctx, err, method)
		}
		deadline, hasDeadline := ctx.Deadline()
		if !c.stream {
			if d := time.Now().Add(rto); !hasDeadline || d.Before(deadline) {
				deadline, hasDeadline = d, true
			}
		}
		if hasDeadline {
			if err := c.conn.SetReadDeadline(deadline); err != nil {
				return nil, c.netError(ctx, err, method)
			}
		}
		msg, err := c.await(req.TransactionID, method)
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() && !c.stream && ctx.Err() == nil {
			rto *= 2
			continue // retransmit
		}
		if err != nil && errors.As(err, &ne) && ne.Timeout() {
			return nil, c.netError(ctx, err, method)
		}
		return msg, err
	}
}

// build makes a request with the long-term credentials once challenged.
func (c *turnClient) build(method stun.Method, setters []stun.Setter) (*stun.Message, error) {
	all := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
	all = append(all, setters...)
	if c.key != nil {
		all = append(all, stun.NewUsername(c.t.Server.Username), stun.NewRealm(c.realm), stun.NewNonce(c.getNonce()), c.key)
	}
	all = append(all, stun.Fingerprint)
	req, err := stun.Build(all...)
	if err != nil {
		return nil, fmt.Errorf("building %s request: %w", method, err)
	}
	return req, nil
}

func (c *turnClient) setNonce(n string) { c.mu.Lock(); c.nonce = n; c.mu.Unlock() }

func (c *turnClient) getNonce() string { c.mu.Lock(); defer c.mu.Unlock(); return c.nonce }

// postedRequest is a request sent without waiting for its answer.
type postedRequest struct {
	method  stun.Method
	setters []stun.Setter
	resent  bool
}

// post sends a request without waiting: while the relay test runs, its
// reader owns the connection. Answers are skipped by readData, which
// resends once on a 438 (stale nonce) with the new nonce.
func (c *turnClient) post(method stun.Method, setters ...stun.Setter) error {
	return c.postRequest(postedRequest{method: method, setters: setters})
}

func (c *turnClient) postRequest(p postedRequest) error {
	req, err := c.build(p.method, p.setters)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.posted == nil {
		c.posted = map[[stun.TransactionIDSize]byte]postedRequest{}
	}
	c.posted[req.TransactionID] = p
	c.mu.Unlock()
	_, err = c.conn.Write(req.Raw)
	return err
}

// answerPosted handles the answer to a posted request: a 438 gets one
// resend with the fresh nonce; anything else just ends it.
func (c *turnClient) answerPosted(raw []byte) {
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if msg.Decode() != nil || msg.Type.Class == stun.ClassRequest || msg.Type.Class == stun.ClassIndication {
		return
	}
	c.mu.Lock()
	p, ok := c.posted[msg.TransactionID]
	delete(c.posted, msg.TransactionID)
	c.mu.Unlock()
	if !ok || msg.Type.Class != stun.ClassErrorResponse || p.resent {
		return
	}
	var (
		code  stun.ErrorCodeAttribute
		nonce stun.Nonce
	)
	if code.GetFrom(msg) == nil && code.Code == 438 && nonce.GetFrom(msg) == nil {
		c.setNonce(nonce.String())
		p.resent = true
		_ = c.postRequest(p)
	}
}

// await reads frames until the answer to tid arrives, skipping others.
func (c *turnClient) await(tid [stun.TransactionIDSize]byte, method stun.Method) (*stun.Message, error) {
	for stray := 0; ; {
		raw, err := c.frames.next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, err
			}
			if isClosed(err) {
				return nil, c.closedError(err, method)
			}
			if isFrameError(err) {
				return nil, &ProtocolError{Addr: c.t.Addr(), Err: err}
			}
			// What the network answered instead (ICMP, a local rule)
			// keeps its type.
			return nil, classify(err, c.t, c.start, StageFirstAnswer)
		}
		msg, err := parseTURNResponse(raw, tid, method)
		if errors.Is(err, errOtherFrame) {
			if stray++; stray > maxStrayFrames {
				return nil, &ProtocolError{Addr: c.t.Addr(), Err: errStrayFlood}
			}
			continue
		}
		var se *STUNError
		if err != nil && !errors.As(err, &se) {
			return nil, &ProtocolError{Addr: c.t.Addr(), Err: err}
		}
		c.answered = true
		return msg, err
	}
}

// netError names a failed exchange: no answer at all is a filtered or
// closed port; silence after earlier answers is a stalled request.
func (c *turnClient) netError(ctx context.Context, err error, method stun.Method) error {
	if isClosed(err) {
		return c.closedError(err, method)
	}
	stage := StageFirstAnswer
	if c.answered {
		stage = requestStage(method.String())
	}
	if ctx.Err() != nil {
		if stage == "" && c.t.Transport == UDP {
			return udpSilence(c.t, time.Since(c.start))
		}
		return &TimeoutError{Addr: c.t.Addr(), Transport: c.t.Transport, After: time.Since(c.start), Stage: stage}
	}
	return classify(err, c.t, c.start, stage)
}

func (c *turnClient) closedError(err error, method stun.Method) error {
	return &ClosedError{Addr: c.t.Addr(), Transport: c.t.Transport, Request: method.String(), Err: err}
}

// isClosed is a stream the server ended: EOF mid-frame or a reset.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// sendData relays payload to peer: as ChannelData on a bound channel,
// else as a Send indication.
func (c *turnClient) sendData(peer *net.UDPAddr, ch uint16, payload []byte) error {
	var frame []byte
	if ch != 0 {
		size := channelHeaderSize + len(payload)
		if c.stream {
			size = (size + 3) &^ 3 // RFC 8656 §12.5: pad over TCP/TLS
		}
		frame = make([]byte, size)
		binary.BigEndian.PutUint16(frame[0:2], ch)
		binary.BigEndian.PutUint16(frame[2:4], uint16(len(payload))) //nolint:gosec // payload is at most a few KB
		copy(frame[channelHeaderSize:], payload)
	} else {
		// With FINGERPRINT, as browsers send it: some servers (node-turn)
		// drop STUN messages without one.
		msg, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
			peerAddress(peer), stun.RawAttribute{Type: stun.AttrData, Value: payload}, stun.Fingerprint)
		if err != nil {
			return err
		}
		frame = msg.Raw
	}
	_, err := c.conn.Write(frame)
	return err
}

// readData waits for the next relayed packet, skipping other frames.
func (c *turnClient) readData() (relayedData, error) {
	for {
		raw, err := c.frames.next()
		if err != nil {
			return relayedData{}, err
		}
		d, err := parseRelayedData(raw)
		if errors.Is(err, errNotData) {
			c.answerPosted(raw)
			continue
		}
		if err != nil {
			continue // a malformed frame: not ours
		}
		return d, nil
	}
}
