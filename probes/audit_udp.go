package probes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
)

// auditUDP allocates a UDP relay of family (1 IPv4, 2 IPv6), asks the
// server for a permission to every peer of that family, one request each,
// then sends one marker to each witness form it granted and waits for
// the witnesses' echoes, which come back through the relay.
func (a *auditor) auditUDP(ctx context.Context, key string, family byte) {
	c, alloc, err := a.dialAllocate(ctx, a.t, relayUDP, family)
	relay := AuditRelay{Key: key, Err: err}
	if err == nil {
		relay.Relayed = addrPort(alloc.Relayed)
		if family == 2 && relay.Relayed.Addr().Is4() {
			relay.Err = fmt.Errorf("asked for an IPv6 relay, got %s", relay.Relayed)
		}
	}
	a.rep.Relays = append(a.rep.Relays, relay)
	if err != nil {
		return
	}
	defer c.Close()
	defer releaseQuietly(ctx, c)
	if relay.Err != nil {
		return
	}
	a.noteOwn(relay.Relayed.Addr())
	a.softwareText(alloc.Software)
	first := len(a.rep.Peers)
	for _, p := range a.peersFor(family == 2, false) {
		if ctx.Err() != nil {
			break
		}
		a.rep.Peers = append(a.rep.Peers, a.permission(ctx, c, key, p))
		a.pace(ctx)
	}
	a.markers(ctx, c, a.rep.Peers[first:])
}

// permission asks for one permission and records the answer.
func (a *auditor) permission(ctx context.Context, c *turnClient, key string, p auditPeer) PeerAnswer {
	ans := PeerAnswer{Class: p.class, Relay: key, Peer: p.addr, Witness: p.witness}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.AnswerWait)
	defer cancel()
	sent := time.Now()
	_, err := c.request(rctx, stun.MethodCreatePermission, peerAddressAs(p.addr))
	ans.After = time.Since(sent)
	answerOf(&ans, err, PeerGranted)
	return ans
}

// answerOf fills in how the server answered a request: ok when it
// succeeded, the code of an error response, or silence.
func answerOf(ans *PeerAnswer, err error, ok PeerOutcome) {
	var se *STUNError
	switch {
	case err == nil:
		ans.Outcome = ok
	case errors.As(err, &se) && se.Code == 447:
		ans.Outcome, ans.Code, ans.Reason = PeerConnectFailed, se.Code, se.Reason
	case errors.As(err, &se):
		ans.Outcome, ans.Code, ans.Reason = PeerRefused, se.Code, se.Reason
	default:
		ans.Outcome = PeerUnanswered
	}
}

// markers sends one marker to each granted witness form and collects the
// echoes until every marker has come back, EchoWait has passed or ctx
// ends. A marker is the prefix, this run's token and the answer's index:
// an echo names the very peer address it was sent to.
func (a *auditor) markers(ctx context.Context, c *turnClient, answers []PeerAnswer) {
	waiting := 0
	sent := map[int]time.Time{}
	for i := range answers {
		ans := &answers[i]
		if ans.Witness == nil || ans.Outcome != PeerGranted || ctx.Err() != nil {
			continue
		}
		if err := a.sendMarker(c, ans.Peer, i); err != nil {
			continue
		}
		ans.Marker, sent[i] = true, time.Now()
		waiting++
		a.pace(ctx)
	}
	if waiting == 0 {
		return
	}
	deadline := time.Now().Add(a.cfg.EchoWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if c.conn.SetReadDeadline(deadline) != nil {
		return
	}
	defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
	for waiting > 0 {
		d, err := c.readData()
		if err != nil {
			return
		}
		i, ok := a.markerIndex(d.Payload)
		if !ok || i >= len(answers) || !answers[i].Marker || answers[i].Arrived {
			continue
		}
		ans := &answers[i]
		ans.Arrived, ans.After = true, time.Since(sent[i])
		if d.Peer != nil {
			ans.EchoFrom = addrPort(d.Peer)
		}
		waiting--
	}
}

// sendMarker relays one marker to peer as a Send indication.
func (a *auditor) sendMarker(c *turnClient, peer netip.AddrPort, i int) error {
	msg, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		peerAddressAs(peer), stun.RawAttribute{Type: stun.AttrData, Value: []byte(a.marker(i))}, stun.Fingerprint)
	if err != nil {
		return err
	}
	_, err = c.conn.Write(msg.Raw)
	return err
}

// marker is the payload of the i-th marker of this run.
func (a *auditor) marker(i int) string { return AuditMarkerPrefix + a.run + " " + strconv.Itoa(i) }

// markerIndex reads back the index of one of this run's markers.
func (a *auditor) markerIndex(payload []byte) (int, bool) {
	rest, ok := strings.CutPrefix(string(payload), AuditMarkerPrefix+a.run+" ")
	if !ok || len(payload) > MaxMarkerSize {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}
