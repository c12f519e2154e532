package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"slices"
	"time"
)

// AuditConfig says what the audit asks a TURN server about, and how
// patiently.
type AuditConfig struct {
	// Witnesses are the user's listeners that answer audit markers.
	Witnesses []Witness
	// Internal are the ranges the user calls internal.
	Internal []netip.Prefix
	// AnswerWait bounds the wait for each answer (default 1.5 s): a
	// server that refuses by policy answers at once.
	AnswerWait time.Duration
	// EchoWait is how long the witnesses' echoes are waited for after the
	// last marker (default 1 s).
	EchoWait time.Duration
	// ConnectWait bounds the wait for the answers to a TCP relay's
	// Connect requests (default 3 s): a server that is still connecting
	// when it ends has not refused.
	ConnectWait time.Duration
	// Pace spaces what the audit sends (default 5 ms: at most 200
	// messages a second).
	Pace time.Duration
}

func (c AuditConfig) withDefaults() AuditConfig {
	if c.AnswerWait <= 0 {
		c.AnswerWait = 1500 * time.Millisecond
	}
	if c.EchoWait <= 0 {
		c.EchoWait = time.Second
	}
	if c.ConnectWait <= 0 {
		c.ConnectWait = 3 * time.Second
	}
	if c.Pace <= 0 {
		c.Pace = 5 * time.Millisecond
	}
	return c
}

// The relays the audit allocates, by key.
const (
	RelayUDP4 = "udp4"
	RelayUDP6 = "udp6"
	RelayTCP4 = "tcp4"
)

// RelayTitle says what a relay key means, for people.
func RelayTitle(key string) string {
	switch key {
	case RelayUDP4:
		return "UDP relay (IPv4)"
	case RelayUDP6:
		return "UDP relay (IPv6)"
	case RelayTCP4:
		return "TCP relay (RFC 6062, IPv4)"
	}
	return key
}

// AuditRelay is what one relay allocation of the audit got.
type AuditRelay struct {
	Key     string
	Relayed netip.AddrPort
	// Err is why there is no such relay: a refusal (442: TCP relays not
	// offered; 440: no IPv6 relays) or a failure.
	Err error
}

// PeerOutcome is how the server answered a request to relay to a peer.
type PeerOutcome string

// The outcomes of a permission or connection request.
const (
	// PeerGranted: CreatePermission succeeded.
	PeerGranted PeerOutcome = "granted"
	// PeerConnected: a TCP relay's Connect succeeded: the server holds a
	// TCP connection to the peer (RFC 6062 §5.2).
	PeerConnected PeerOutcome = "connected"
	// PeerConnectFailed: Connect failed with 447: the server's policy let
	// it try, and the connection failed or timed out.
	PeerConnectFailed PeerOutcome = "connect_failed"
	// PeerRefused: an error response other than 447.
	PeerRefused PeerOutcome = "refused"
	// PeerUnanswered: no answer within the wait.
	PeerUnanswered PeerOutcome = "unanswered"
)

// PeerAnswer is what the server did with one peer address on one relay.
type PeerAnswer struct {
	Class string
	Relay string
	// Peer is the address as sent, its encoding kept (::ffff:127.0.0.1
	// is not 127.0.0.1).
	Peer netip.AddrPort
	// Witness is the listener the peer aims at, when it is a witness's
	// address or another form of it (0.0.0.0:PORT for a witness on
	// 127.0.0.1:PORT).
	Witness *Witness
	Outcome PeerOutcome
	Code    int
	Reason  string
	// Marker is true when an audit marker was sent to Peer through the
	// relay (a witness's, once the permission was granted).
	Marker bool
	// Arrived is true when the witness's echo of that marker came back
	// through the relay, from EchoFrom: the marker reached it.
	Arrived  bool
	EchoFrom netip.AddrPort
	// After is how long the answer (or the echo) took.
	After time.Duration
}

// AuditReport is everything one audit of a TURN server observed.
type AuditReport struct {
	// Server is the address the audit talked to.
	Server netip.Addr
	Relays []AuditRelay
	Peers  []PeerAnswer
	Auth   AuthReport
	// Sent counts the messages sent to the server (over UDP each is one
	// datagram), retransmissions and releases included; BytesOut and
	// BytesIn are the bytes both ways.
	Sent              int64
	BytesOut, BytesIn int64
	Took              time.Duration
	// Err is set when the audit could not get a single relay: the peer
	// rows then have nothing to say.
	Err error
}

// Relay returns the relay of that key, if the audit allocated it.
func (r *AuditReport) Relay(key string) (AuditRelay, bool) {
	i := slices.IndexFunc(r.Relays, func(a AuditRelay) bool { return a.Key == key })
	if i < 0 {
		return AuditRelay{}, false
	}
	return r.Relays[i], true
}

// AuditMarkerPrefix begins every marker the audit sends through a relay;
// a witness answers only datagrams that begin with it.
const AuditMarkerPrefix = "rtcprobe-audit "

// MaxMarkerSize bounds a marker: a witness ignores anything longer.
const MaxMarkerSize = 64

// AuditTURN audits the TURN server of t: which peer addresses it grants
// permissions for and relays to, over UDP relays of both families and a
// TCP relay (RFC 6062), and how it authenticates. It sends only to the
// server; a peer address is only ever named in a request to the server,
// and markers go through its relay to the user's witnesses alone.
func AuditTURN(ctx context.Context, t Target, cfg AuditConfig) *AuditReport {
	cfg = cfg.withDefaults()
	start := time.Now()
	var tally Tally
	ctx = Counting(ctx, &tally)
	rep := &AuditReport{}
	a := &auditor{t: t, cfg: cfg, rep: rep, run: runToken()}

	a.auditAuth(ctx)
	a.auditUDP(ctx, RelayUDP4, 1)
	if ctx.Err() == nil {
		a.auditUDP(ctx, RelayUDP6, 2)
	}
	if ctx.Err() == nil {
		a.auditTCP(ctx)
	}
	if !slices.ContainsFunc(rep.Relays, func(r AuditRelay) bool { return r.Err == nil }) && len(rep.Relays) > 0 {
		rep.Err = rep.Relays[0].Err
	}
	rep.Sent, rep.BytesOut, rep.BytesIn = tally.Writes.Load(), tally.BytesOut.Load(), tally.BytesIn.Load()
	rep.Took = time.Since(start)
	return rep
}

// auditor is one audit run.
type auditor struct {
	t   Target
	cfg AuditConfig
	rep *AuditReport
	// run tells this run's markers from any other's.
	run string
	// own are the server's addresses seen so far: the one dialled and
	// the relayed ones.
	own []netip.Addr
}

func runToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// noteOwn records an address of the server's.
func (a *auditor) noteOwn(addr netip.Addr) {
	addr = addr.Unmap()
	if addr.IsValid() && !addr.IsUnspecified() && !slices.Contains(a.own, addr) {
		a.own = append(a.own, addr)
	}
	if !a.rep.Server.IsValid() {
		a.rep.Server = addr
	}
}

// remoteAddr is the server's address on c.
func remoteAddr(c *turnClient) netip.Addr {
	ip := serverIP(c)
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// auditPeer is one address to ask about on a relay.
type auditPeer struct {
	class   string
	addr    netip.AddrPort
	witness *Witness
}

// peersFor lists what to ask a relay about: every class's addresses of a
// family the relay can reach (IPv4 in IPv6 forms on both), the server's
// own, the internal ranges' and each witness with its other forms. port
// is where a peer without a witness is aimed (CreatePermission ignores
// it); tcp asks each class's TCP ports instead, and leaves out classes
// with none.
func (a *auditor) peersFor(v6, tcp bool) []auditPeer {
	var out []auditPeer
	add := func(class string, addr netip.AddrPort, w *Witness) {
		if !fits(addr.Addr(), v6) {
			return
		}
		for i, p := range out {
			if p.addr == addr {
				// A witness listens where a class's port would go: one
				// request, the witness's.
				if w != nil && p.witness == nil {
					out[i] = auditPeer{class: class, addr: addr, witness: w}
				}
				return
			}
		}
		out = append(out, auditPeer{class: class, addr: addr, witness: w})
	}
	for _, c := range auditClasses {
		list := c.Addrs
		switch c.Name {
		case ClassOwn:
			list = a.own
		case ClassInternal:
			list = nil
			for _, p := range a.cfg.Internal {
				list = append(list, rangeProbe(p))
			}
		}
		for _, addr := range list {
			if !tcp {
				add(c.Name, netip.AddrPortFrom(addr, discardPort), nil)
				continue
			}
			ports := c.TCPPorts
			if c.Name == ClassOwn {
				ports = append([]uint16{uint16(a.t.Server.URI.Port)}, ports...) //nolint:gosec // a parsed URI port is at most 65535
			}
			for _, port := range ports {
				add(c.Name, netip.AddrPortFrom(addr, port), nil)
			}
		}
	}
	for i := range a.cfg.Witnesses {
		w := &a.cfg.Witnesses[i]
		if (w.Network == "tcp") != tcp {
			continue
		}
		for _, form := range witnessForms(w.Addr) {
			add(ClassOf(form.Addr(), a.own, a.cfg.Internal), form, w)
		}
	}
	return out
}

// discardPort (RFC 863) is where a permission-only peer is aimed: a
// permission is for an IP address alone (RFC 8656 §9), and no datagram
// goes there.
const discardPort = 9

// fits tells whether a relay of that family can be asked about addr: an
// IPv4 relay about IPv4 addresses and IPv4-in-IPv6 forms (does the server
// unwrap them before its checks?), an IPv6 relay about IPv6 addresses.
func fits(addr netip.Addr, v6 bool) bool {
	if addr.Is4In6() || ipv4Compatible(addr) {
		return true
	}
	return addr.Is6() == v6
}

// witnessForms are the encodings of a witness's address a server might
// fail to recognise: the address itself, its IPv4-mapped form, and, for a
// loopback witness, the unspecified addresses, which reach this host's
// own listeners (CVE-2020-26262).
func witnessForms(ap netip.AddrPort) []netip.AddrPort {
	addr, port := ap.Addr(), ap.Port()
	out := []netip.AddrPort{ap}
	if addr.Is4() {
		out = append(out, netip.AddrPortFrom(netip.AddrFrom16(addr.As16()), port))
	}
	if addr.IsLoopback() {
		unspecified := netip.IPv4Unspecified()
		if addr.Is6() {
			unspecified = netip.IPv6Unspecified()
		}
		out = append(out, netip.AddrPortFrom(unspecified, port))
	}
	return out
}

// pace waits between two sends, or until ctx ends.
func (a *auditor) pace(ctx context.Context) {
	t := time.NewTimer(a.cfg.Pace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// dialAllocateAudit connects and allocates a relay of proto and family,
// retrying once from a fresh port after a 437 (a 5-tuple the server still
// holds).
func (a *auditor) dialAllocate(ctx context.Context, t Target, proto, family byte) (*turnClient, allocation, error) {
	for attempt := 0; ; attempt++ {
		c, err := dialTURN(ctx, t)
		if err != nil {
			return nil, allocation{}, err
		}
		a.noteOwn(remoteAddr(c))
		alloc, err := c.allocateRelay(ctx, proto, family)
		if err == nil {
			return c, alloc, nil
		}
		if family != 0 {
			settle(ctx, c, err) // a refused family may stay charged to the user
		}
		_ = c.Close()
		if attempt > 0 || !hasCode(err, 437) {
			return nil, allocation{}, err
		}
	}
}
