package probes

import (
	"context"
	"time"

	"github.com/pion/stun/v4"
)

// auditTCP allocates a TCP relay (RFC 6062) over a TCP (or TLS)
// connection to the server and sends a Connect for every peer at once:
// the server answers each when its connection to the peer is up (success:
// proof that it connected), failed (447: its policy let it try) or
// refused by policy (403) at once. Connections are never bound: the
// relay and every connection the server opened go when the allocation is
// released.
func (a *auditor) auditTCP(ctx context.Context) {
	t := a.t
	switch t.Transport {
	case UDP:
		t.Transport = TCP
	case DTLS:
		t.Transport = TLS
	}
	c, alloc, err := a.dialAllocate(ctx, t, relayTCP, 0)
	relay := AuditRelay{Key: RelayTCP4, Err: err}
	if err == nil {
		relay.Relayed = addrPort(alloc.Relayed)
	}
	a.rep.Relays = append(a.rep.Relays, relay)
	if err != nil {
		return
	}
	defer c.Close()
	defer releaseQuietly(ctx, c)
	a.noteOwn(relay.Relayed.Addr())

	peers := a.peersFor(relay.Relayed.Addr().Is6(), true)
	answers := make([]PeerAnswer, len(peers))
	pending := map[[stun.TransactionIDSize]byte]int{}
	sent := make([]time.Time, len(peers))
	resent := make([]bool, len(peers))
	send := func(i int) bool {
		req, err := c.build(stun.MethodConnect, []stun.Setter{peerAddressAs(peers[i].addr)})
		if err != nil {
			return false
		}
		if _, err := c.conn.Write(req.Raw); err != nil {
			return false
		}
		pending[req.TransactionID], sent[i] = i, time.Now()
		return true
	}
	n := 0 // the Connects sent: the first n peers
	for i, p := range peers {
		answers[i] = PeerAnswer{Class: p.class, Relay: RelayTCP4, Peer: p.addr, Witness: p.witness, Outcome: PeerUnanswered}
		if ctx.Err() != nil || !send(i) {
			break
		}
		n++
		a.pace(ctx)
	}
	deadline := time.Now().Add(a.cfg.ConnectWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if c.conn.SetReadDeadline(deadline) == nil {
		for len(pending) > 0 {
			raw, err := c.frames.next()
			if err != nil {
				break
			}
			msg := &stun.Message{Raw: append([]byte(nil), raw...)}
			if msg.Decode() != nil || msg.Type.Method != stun.MethodConnect {
				continue // a ConnectionAttempt, or not STUN: not an answer
			}
			i, ok := pending[msg.TransactionID]
			if !ok {
				continue
			}
			delete(pending, msg.TransactionID)
			ans := &answers[i]
			ans.After = time.Since(sent[i])
			if msg.Type.Class == stun.ClassSuccessResponse {
				ans.Outcome = PeerConnected
				continue
			}
			se := stunError(msg, "Connect")
			if se.Code == 438 && !resent[i] && se.nonce != "" {
				c.setNonce(se.nonce)
				resent[i] = true
				if send(i) {
					continue
				}
			}
			answerOf(ans, se, PeerConnected)
		}
		_ = c.conn.SetReadDeadline(time.Time{})
	}
	a.rep.Peers = append(a.rep.Peers, answers[:n]...)
}
