package probes

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// followUpWait bounds the follow-up GET, inside the check's own deadline.
const followUpWait = 1500 * time.Millisecond

// wsFollowUpGET tells apart why a server closed the Upgrade without an
// answer: a plain GET of the same path on a new connection (through the
// same proxy and TLS) shows whether something there speaks HTTP at all.
// A path that answers plain HTTP but drops the Upgrade has no WebSocket
// behind it, or an intermediary that strips the Upgrade; a GET closed the
// same way says nothing about which. The outcome is recorded as the
// observation "follow-up: HTTP GET".
func wsFollowUpGET(ctx context.Context, cfg WebSocketConfig, u *url.URL, addr string) {
	ctx, cancel := context.WithTimeout(ctx, followUpWait)
	defer cancel()
	const step = "follow-up: HTTP GET"
	o := Observation{Step: step, Transport: "tcp", To: WebSocketName(u)}
	start := time.Now()
	defer func() {
		o.AfterMS = ms(time.Since(start))
		Observe(ctx, o)
	}()
	var scratch Measurement
	conn, err := wsOpen(ctx, &scratch, cfg, u, addr)
	if err != nil {
		if eo, ok := ObservationOf(err); ok {
			o.Outcome, o.Note = eo.Outcome, "the connection for it failed: "+fromNetwork(err.Error())
		} else {
			o.Outcome, o.Note = OutcomeSilence, fromNetwork(err.Error())
		}
		return
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Opaque: u.RequestURI()}, Host: u.Host, Close: true,
		Header: http.Header{"User-Agent": {"rtcprobe"}}}
	if err := req.Write(conn); err != nil {
		o.Outcome, o.Note = OutcomeClosed, errnoText(err)
		return
	}
	br := bufio.NewReader(conn)
	resp, err := readHTTPHead(br)
	var (
		ne   net.Error
		head *HeadError
	)
	switch {
	case err == nil:
		o.Outcome, o.Code, o.Reason, o.Headers = OutcomeAnswered, resp.Code, resp.Status, explainingHeaders(resp.Header)
		if resp.Code >= 400 {
			o.Outcome = OutcomeErrorResponse
		}
	case errors.As(err, &ne) && ne.Timeout():
		o.Outcome = OutcomeSilence
	case errors.As(err, &head):
		o.Outcome, o.Note = OutcomeNotProtocol, head.What
	case errors.Is(err, syscall.ECONNRESET):
		o.Outcome = OutcomeReset
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		o.Outcome = OutcomeClosed
	default:
		o.Outcome, o.Note = OutcomeClosed, errnoText(err)
	}
}
