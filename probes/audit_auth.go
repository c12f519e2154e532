package probes

import (
	"context"
	"errors"
	"time"

	"github.com/pion/stun/v4"
)

// AuthReport is how the server treats credentials, and what it tells
// anyone who asks.
type AuthReport struct {
	// Unauthenticated is the answer to an Allocate without credentials.
	Unauthenticated AuthAnswer
	// WrongPassword is the answer to the user's name with a wrong
	// password, UnknownUser to a name no server has, with the same wrong
	// password (asked when a static username is given).
	WrongPassword, UnknownUser AuthAnswer
	// Expired is the answer to TURN REST credentials that expired an hour
	// ago (asked when a REST secret is given).
	Expired AuthAnswer
	// Software is the SOFTWARE attribute the server sent (sanitized);
	// SoftwareAsked is true once any answer of the server's was read.
	Software      string
	SoftwareAsked bool
	// Answers are the unauthenticated requests sent over UDP and the
	// size of each answer: what a spoofed request makes the server send
	// to its victim.
	Answers []SizedAnswer
}

// AuthAnswer is the server's answer to one authentication attempt.
type AuthAnswer struct {
	Asked   bool
	Granted bool
	Code    int
	Reason  string
	// Err is set when no answer came: nothing can be said about the
	// credentials.
	Err error
}

// SizedAnswer is one unauthenticated request over UDP and the bytes the
// server answered it with (0: no answer).
type SizedAnswer struct {
	Request       string
	Sent, Answers int
}

// auditAuth asks without credentials (over UDP: a Binding and an
// Allocate, each answer's size kept), then, when the user gave a static
// username, with a wrong password and with an unknown username, and, with
// a REST secret, with credentials that expired an hour ago.
func (a *auditor) auditAuth(ctx context.Context) {
	auth := &a.rep.Auth
	anon := a.t
	anon.Server.Username, anon.Server.Password, anon.Server.REST = "", "", nil
	auth.Unauthenticated = a.anonymous(ctx, anon)

	if s := a.t.Server; s.Static() && s.Username != "" {
		wrong := a.t
		wrong.Server.Password += "-not-this"
		auth.WrongPassword = a.attempt(ctx, wrong)
		unknown := wrong
		unknown.Server.Username = "rtcprobe-audit-" + a.run
		auth.UnknownUser = a.attempt(ctx, unknown)
	}
	if rest := a.t.Server.REST; rest != nil {
		expired := a.t
		expired.Server.REST = nil
		expired.Server.Username, expired.Server.Password = RESTCredentials(rest.Secret, rest.User, -time.Hour, time.Now())
		auth.Expired = a.attempt(ctx, expired)
	}
}

// anonymous sends the unauthenticated requests. Over UDP each goes once
// (retried twice on silence) and its answer's size is kept.
func (a *auditor) anonymous(ctx context.Context, t Target) AuthAnswer {
	c, err := dialTURN(ctx, t)
	if err != nil {
		return AuthAnswer{Asked: true, Err: err}
	}
	defer c.Close()
	a.noteOwn(remoteAddr(c))
	allocate := []stun.Setter{stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{relayUDP, 0, 0, 0}}}
	if c.stream {
		msg, err := c.roundTrip(ctx, stun.MethodAllocate, allocate)
		return a.anonymousAnswer(ctx, c, msg, err)
	}
	// A server that answers no Binding (no-stun) still answers an
	// Allocate: its answer's size is all a Binding is asked for.
	_, _ = a.sized(ctx, c, "Binding", stun.MethodBinding, nil)
	msg, err := a.sized(ctx, c, "Allocate without credentials", stun.MethodAllocate, allocate)
	return a.anonymousAnswer(ctx, c, msg, err)
}

// anonymousAnswer reads the answer to an Allocate without credentials;
// a granted relay is released at once.
func (a *auditor) anonymousAnswer(ctx context.Context, c *turnClient, msg *stun.Message, err error) AuthAnswer {
	ans := AuthAnswer{Asked: true}
	if msg != nil {
		a.software(msg)
	}
	var se *STUNError
	switch {
	case err == nil:
		ans.Granted = true
		releaseQuietly(ctx, c)
	case errors.As(err, &se):
		ans.Code, ans.Reason = se.Code, se.Reason
	default:
		ans.Err = err
	}
	return ans
}

// attempt allocates with t's credentials and keeps the final answer; a
// granted relay is released at once.
func (a *auditor) attempt(ctx context.Context, t Target) AuthAnswer {
	c, err := dialTURN(ctx, t)
	if err != nil {
		return AuthAnswer{Asked: true, Err: err}
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*a.cfg.AnswerWait)
	defer cancel()
	alloc, err := c.allocate(rctx, 0)
	ans := AuthAnswer{Asked: true}
	var se *STUNError
	switch {
	case err == nil:
		ans.Granted = true
		a.softwareText(alloc.Software)
		releaseQuietly(ctx, c)
	case errors.As(err, &se):
		ans.Code, ans.Reason = se.Code, se.Reason
	default:
		ans.Err = err
	}
	return ans
}

// sized sends one request without credentials over UDP and reads one
// answer, trying at most three times, and keeps the sizes: the bytes of
// the request and of the answer datagram.
func (a *auditor) sized(ctx context.Context, c *turnClient, name string, method stun.Method, setters []stun.Setter) (*stun.Message, error) {
	req, err := c.build(method, setters)
	if err != nil {
		return nil, err
	}
	got := SizedAnswer{Request: name, Sent: len(req.Raw)}
	defer func() { a.rep.Auth.Answers = append(a.rep.Auth.Answers, got) }()
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	defer stop()
	defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
	var last error
	for range 3 {
		if _, err := c.conn.Write(req.Raw); err != nil {
			return nil, c.netError(ctx, err, method)
		}
		if err := c.conn.SetReadDeadline(time.Now().Add(a.cfg.AnswerWait / 3)); err != nil {
			return nil, err
		}
		raw, err := c.frames.next()
		if err != nil {
			last = c.netError(ctx, err, method)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		msg, err := parseTURNResponse(raw, req.TransactionID, method)
		if errors.Is(err, errOtherFrame) {
			continue
		}
		var se *STUNError
		if err != nil && !errors.As(err, &se) {
			return nil, &ProtocolError{Addr: c.t.Addr(), Err: err}
		}
		got.Answers = len(raw)
		return msg, err
	}
	return nil, last
}

// software keeps the SOFTWARE attribute of an answer.
func (a *auditor) software(msg *stun.Message) {
	var sw stun.Software
	a.rep.Auth.SoftwareAsked = true
	if sw.GetFrom(msg) == nil {
		a.softwareText(fromNetwork(sw.String()))
	}
}

func (a *auditor) softwareText(s string) {
	a.rep.Auth.SoftwareAsked = true
	if s != "" && a.rep.Auth.Software == "" {
		a.rep.Auth.Software = s
	}
}
