package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// TURNConfig sets how a TURN probe proves relaying.
type TURNConfig struct {
	// Packets is how many packets go relay A → relay B and back (default 20).
	Packets int
	// Size is each packet's payload in bytes (default 100, at least 20).
	Size int
	// Interval paces the packets (default 20 ms, one audio frame).
	Interval time.Duration
	// EchoWait is how long to wait for echoes after the last packet
	// (default 1 s); the context deadline bounds it too.
	EchoWait time.Duration
	// SkipIPv6 leaves out the extra allocation that asks for an IPv6 relay.
	SkipIPv6 bool
}

func (c TURNConfig) withDefaults() TURNConfig {
	if c.Packets <= 0 {
		c.Packets = 20
	}
	if c.Size < echoHeaderSize {
		if c.Size != 0 {
			c.Size = echoHeaderSize
		} else {
			c.Size = 100
		}
	}
	if c.Interval <= 0 {
		c.Interval = 20 * time.Millisecond
	}
	if c.EchoWait <= 0 {
		c.EchoWait = time.Second
	}
	return c
}

// firstChannel is the lowest channel number a client may bind.
const firstChannel = 0x4000

// TURNSummary is what TURN found besides numbers and words, as data.
type TURNSummary struct {
	// Relayed are the relayed addresses granted: the first allocation's,
	// then the peer allocation's when there was one.
	Relayed []netip.AddrPort
}

// addrPort is a as a netip.AddrPort, an IPv4 address as such.
func addrPort(a *net.UDPAddr) netip.AddrPort {
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// TURN allocates a relay on t with the server's credentials, allocates a
// second relay on the same server, and sends packets from one relayed
// address to the other and back, through permissions and a bound channel
// (Send/Data indications when the server refuses the channel).
//
// Metrics: alloc_ms (first Allocate including the 401 challenge),
// connect_ms (TCP/TLS/DTLS), rtt_{min,median,p95,max}_ms of the relayed
// echo, loss_pct (one-way), loss_ab_pct and loss_ba_pct (per direction),
// loss_rtt_pct (round trip), packets_sent, packets_received (echoes back),
// packets_at_peer, relay_ipv6 (1 when an
// IPv6 relay was granted on request, 0 when refused) and relay_unroutable
// (1 when a public server hands out a private or loopback relay address).
// Evidence: relayed_address, peer_relayed_address, mapped_address,
// channel, relay_ipv6, software.
func TURN(ctx context.Context, t Target, cfg TURNConfig) Measurement {
	cfg = cfg.withDefaults()
	var m Measurement

	// Nothing authenticated goes out before the 401 challenge is
	// answered: until then this check holds none of the user's quota and
	// lends its lease, so a silent server keeps no other check waiting.
	LendQuota(ctx)
	a, err := dialTURN(ctx, t)
	if tlsHandshakeUnanswered(ctx, t, err) {
		tlsFollowUp(ctx, t)
	}
	if err != nil {
		return Failed(err)
	}
	if t.Transport != UDP {
		m.SetMetric("connect_ms", ms(time.Since(a.start)))
	}
	allocStart := time.Now()
	allocA, err := a.allocate(ctx, 0)
	if hasCode(err, 437) {
		// The server still holds an allocation for this 5-tuple: retry
		// once from a fresh port (RFC 8656 §7.2).
		_ = a.Close()
		m.AddEvidence("allocate_retry", "437 Allocation Mismatch on the first port; retried from a fresh one")
		quotaWait := a.quotaWait
		if a, err = dialTURN(ctx, t); err != nil {
			m.Err = err
			return m
		}
		a.quotaWait = quotaWait // still within alloc_ms
		allocA, err = a.allocate(ctx, 0)
	}
	for waited := false; ; waited = true {
		if err == nil && waited {
			noteFreed(t)
		}
		if !noRoom(err) || !awaitOwnReleases(ctx, t) {
			break
		}
		// Asked again from a fresh connection: coturn 4.6 answers a second
		// Allocate on the connection it refused for room with a relayed
		// address of 0.0.0.0:0.
		_ = a.Close()
		if a, err = dialTURN(ctx, t); err != nil {
			return Failed(err)
		}
		allocStart = time.Now() // the wait for our own releases is not the server's time
		allocA, err = a.allocate(ctx, 0)
	}
	defer a.Close()
	if noRoom(err) {
		if own := stillCounted(t); own != "" {
			m.AddEvidence("own_releases", own)
		}
	}
	if hasCode(err, 440) {
		otherFamily(ctx, t, &m)
	}
	if err != nil {
		m.Err = err
		return m
	}
	m.SetMetric("alloc_ms", ms(time.Since(allocStart)-a.quotaWait))
	m.AddEvidence("relayed_address", allocA.Relayed.String())
	sum := &TURNSummary{Relayed: []netip.AddrPort{addrPort(allocA.Relayed)}}
	m.Summary = sum
	noteGrant(allocA, &m)
	if allocA.Mapped != nil {
		m.AddEvidence("mapped_address", allocA.Mapped.String())
	}
	if allocA.Software != "" {
		m.AddEvidence("software", allocA.Software)
	}
	m.SetMetric("relay_unroutable", boolMetric(unroutable(allocA.Relayed.IP) && !unroutable(serverIP(a))))

	b, allocB, _, err := dialAllocate(ctx, t, 0)
	if se := (*STUNError)(nil); errors.As(err, &se) && (se.Code == 486 || se.Code == 508) {
		// The quota (486) or the server's capacity (508: relay ports,
		// sockets) is ours to respect: the relay test needs a second
		// allocation the server will not grant. The reason phrase says
		// which limit refused it; the observation keeps it.
		if se.Code == 486 {
			m.SetMetric("quota_held", 1)
			m.AddEvidence("quota", fmt.Sprintf("the server refused a second allocation (486 %s) while rtcprobe held 1 for this user: the relay test needs 2, so relaying was not measured", se.Reason))
		} else {
			m.SetMetric("capacity_held", 1)
			m.AddEvidence("capacity", fmt.Sprintf("the server refused a second allocation (508 %s) while rtcprobe held 1 (relayed address %s): the relay test needs 2, so relaying was not measured", se.Reason, allocA.Relayed))
		}
		o := se.Observation()
		o.Step, o.Transport, o.To = "second Allocate request", string(t.Transport), t.Addr()
		o.Note = "rtcprobe held 1 allocation for this user"
		if own := stillCounted(t); own != "" {
			o.Note = joinNote(o.Note, own)
		}
		Observe(ctx, o)
		releaseQuietly(ctx, a)
		return m
	}
	if err != nil {
		m.Err = fmt.Errorf("second allocation: %w", err)
		releaseQuietly(ctx, a)
		return m
	}
	defer b.Close()
	m.AddEvidence("peer_relayed_address", allocB.Relayed.String())
	sum.Relayed = append(sum.Relayed, addrPort(allocB.Relayed))

	m.Err = relayTest(ctx, t, a, b, allocA, allocB, cfg, &m)
	// Both relays go before the IPv6 probe allocates: never hold more of
	// the user's quota than the test needs.
	releaseQuietly(ctx, b)
	releaseQuietly(ctx, a)
	if m.Err == nil && !cfg.SkipIPv6 && ctx.Err() == nil {
		probeIPv6Relay(ctx, t, &m)
	}
	return m
}

// defaultLifetime is the allocation lifetime RFC 8656 §7.2 has a server
// grant at least when the client asks for none (rtcprobe never does).
const defaultLifetime = 600

// noteGrant records what the server granted to an Allocate that named
// neither an address family nor a lifetime, as a browser's does: the
// relay's family (RFC 8656 §7.2: IPv4 unless the client asks otherwise) and
// the lifetime. relay_default_ipv6 is 1 when that default was IPv6. The
// Allocate step's observation (turnClient.request) notes both too.
func noteGrant(a allocation, m *Measurement) {
	v6 := a.Relayed.IP.To4() == nil
	m.SetMetric("relay_default_ipv6", boolMetric(v6))
	if v6 {
		m.AddEvidence("relay_family", fmt.Sprintf("an Allocate that asked for no address family got an IPv6 relay (%s); RFC 8656 makes IPv4 the default", a.Relayed))
	}
	if a.Lifetime > 0 {
		m.SetMetric("lifetime_s", float64(a.Lifetime))
		m.AddEvidence("lifetime", fmt.Sprintf("%d s granted to an Allocate that asked for no LIFETIME (RFC 8656 default: %d s)", a.Lifetime, defaultLifetime))
	}
}

// relayTest opens permissions and channels between the two relays and
// echoes packets through them. A server that accepts ChannelBind but
// relays no ChannelData is found by trying Send indications when nothing
// came back over the channel.
func relayTest(ctx context.Context, t Target, a, b *turnClient, allocA, allocB allocation, cfg TURNConfig, m *Measurement) error {
	if err := a.createPermission(ctx, allocB.Relayed); err != nil {
		return err
	}
	if err := b.createPermission(ctx, allocA.Relayed); err != nil {
		return err
	}
	chA := bindOrIndicate(ctx, a, allocB.Relayed, m)
	chB := bindOrIndicate(ctx, b, allocA.Relayed, m)
	if m.Err != nil {
		return m.Err
	}
	if chA != 0 && chB != 0 {
		m.AddEvidence("channel", fmt.Sprintf("bound %#04x both ways", firstChannel))
	}
	keep := &keepAlive{a: a, b: b, peerOfA: allocB.Relayed, peerOfB: allocA.Relayed, chA: chA, chB: chB,
		lifetime: time.Duration(min(allocA.Lifetime, allocB.Lifetime)) * time.Second, granted: allocA.Granted}
	echo := relayEcho(ctx, a, b, keep, cfg)
	if echo.sent > 0 && echo.echoed == 0 && (chA != 0 || chB != 0) && ctx.Err() == nil && echo.err == nil {
		keep.chA, keep.chB = 0, 0
		if byIndication := relayEcho(ctx, a, b, keep, cfg); byIndication.echoed > 0 {
			m.SetMetric("channel_data_relayed", 0)
			m.AddEvidence("channel", "ChannelBind accepted, but no ChannelData came through; Send/Data indications did: the server does not relay ChannelData")
			echo = byIndication
		}
	} else if chA != 0 && chB != 0 && echo.echoed > 0 {
		m.SetMetric("channel_data_relayed", 1)
	}
	echo.record(m)
	switch {
	case echo.err != nil:
		return fmt.Errorf("the relay test stopped after %d of %d packets: %w", echo.sent, echo.want, relayError(echo.err, t, a.start))
	case echo.sent == 0:
		return &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: time.Since(a.start), Stage: StageRelayTest}
	case echo.sent < echo.want:
		return fmt.Errorf("%d of %d packets sent: %w", echo.sent, echo.want,
			&TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: time.Since(a.start), Stage: StageRelayTest})
	}
	return nil
}

// relayError names why the relay test could not go on: the server
// closed the connection or is gone (refused), or another failure.
func relayError(err error, t Target, start time.Time) error {
	if isClosed(err) {
		return &ClosedError{Addr: t.Addr(), Transport: t.Transport, Request: string(StageRelayTest), Err: err}
	}
	return classify(err, t, start, StageRelayTest)
}

// bindOrIndicate binds the first channel to peer and returns its number,
// or 0 when the server refuses channels: the packets then go as Send/Data
// indications, which every TURN server must support. Other errors end the
// probe through m.Err.
func bindOrIndicate(ctx context.Context, c *turnClient, peer *net.UDPAddr, m *Measurement) uint16 {
	if m.Err != nil {
		return 0
	}
	err := c.channelBind(ctx, firstChannel, peer)
	switch {
	case err == nil:
		return firstChannel
	case isSTUNError(err):
		m.AddEvidence("channel", "ChannelBind refused ("+err.Error()+"); relayed with Send/Data indications")
	default:
		m.Err = err
	}
	return 0
}

// probeIPv6Relay asks for an IPv6 relay on a fresh connection (RFC 8656
// allows one allocation per 5-tuple) and records whether it was granted.
func probeIPv6Relay(ctx context.Context, t Target, m *Measurement) {
	c, alloc, _, err := dialAllocate(ctx, t, 2)
	if c != nil {
		defer c.Close()
	}
	var se *STUNError
	switch {
	case err == nil && alloc.Relayed.IP.To4() == nil:
		m.SetMetric("relay_ipv6", 1)
		m.AddEvidence("relay_ipv6", "granted "+alloc.Relayed.String())
		releaseQuietly(ctx, c)
	case err == nil:
		m.SetMetric("relay_ipv6", 0)
		m.AddEvidence("relay_ipv6", "asked for IPv6, got "+alloc.Relayed.String())
		releaseQuietly(ctx, c)
	case errors.As(err, &se) && (se.Code == 440 || se.Code == 442):
		m.SetMetric("relay_ipv6", 0)
		m.AddEvidence("relay_ipv6", fmt.Sprintf("refused: %d %s", se.Code, se.Reason))
	case errors.As(err, &se):
		// A quota or capacity refusal says nothing about IPv6.
		m.AddEvidence("relay_ipv6", fmt.Sprintf("not known: the request was refused with %d %s", se.Code, se.Reason))
	default:
		m.AddEvidence("relay_ipv6", "not known: "+err.Error())
	}
}

// otherFamily runs after a 440 to the default (IPv4) Allocate: it asks
// for an IPv6 relay so the verdict can name the family that works.
func otherFamily(ctx context.Context, t Target, m *Measurement) {
	c, alloc, _, err := dialAllocate(ctx, t, 2)
	if c != nil {
		defer c.Close()
	}
	switch {
	case err == nil:
		releaseQuietly(ctx, c)
		m.AddEvidence("relay_family", "IPv4 relay refused (440); an IPv6 relay was granted ("+alloc.Relayed.String()+")")
	case hasCode(err, 440):
		m.AddEvidence("relay_family", "IPv4 relay refused (440); IPv6 refused too (440)")
	default:
		m.AddEvidence("relay_family", "IPv4 relay refused (440); IPv6 not known: "+err.Error())
	}
}

// noRoom: the server refused an allocation for want of room, by quota
// (486) or capacity (508); allocations rtcprobe released moments before
// may still hold that room.
func noRoom(err error) bool { return hasCode(err, 486) || hasCode(err, 508) }

func hasCode(err error, code int) bool {
	var se *STUNError
	return errors.As(err, &se) && se.Code == code
}

func isSTUNError(err error) bool {
	var se *STUNError
	return errors.As(err, &se)
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unroutable is true for addresses a remote peer cannot send to.
func unroutable(ip net.IP) bool {
	return ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

func serverIP(c *turnClient) net.IP {
	if ua, ok := c.conn.RemoteAddr().(*net.UDPAddr); ok {
		return ua.IP
	}
	if ta, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return net.ParseIP(host)
}

// echoHeaderSize is the probe's packet header: a random run token, the
// sequence number and the send time.
const echoHeaderSize = 8 + 4 + 8

// echoResult is what one relayed echo run observed.
type echoResult struct {
	rtts Durations // round trips of the echoes that came back
	want int       // packets meant to be sent
	sent int       // packets a sent towards b
	// atB is how many of them reached b (each was echoed once);
	// echoed how many of those echoes reached a.
	atB, echoed int
	// stalledAfter is when relaying stopped mid-test (0: it did not);
	// resumed is true when it came back after binding again, i.e. the
	// server had expired the channel or permission.
	stalledAfter time.Duration
	resumed      bool
	// lossRuns counts the runs of two or more consecutive packets whose
	// echo never came (a trailing run cut by the deadline excluded): an
	// expired binding loses everything from one point until it is bound
	// again (one run); a rate limit drops what exceeds its budget again
	// and again (several).
	lossRuns int
	// err is what stopped sending or receiving before the end (the server
	// closed the connection or is gone); nil when only the deadline or
	// the echo wait ended it.
	err error
}

// record sets the loss metrics per direction: loss_ab_pct (a → b),
// loss_ba_pct (b → a, of the packets b echoed) and loss_pct, the one-way
// loss over both directions, which is what a one-way media stream
// through this relay loses; a round trip loses about twice as much.
// Packets a counts against what was meant to be sent: a server that dies
// half-way has not lost only the packets it saw.
func (e echoResult) record(m *Measurement) {
	m.SetMetric("packets_sent", float64(e.sent))
	m.SetMetric("packets_received", float64(e.echoed))
	m.SetMetric("packets_at_peer", float64(e.atB))
	m.SetMetric("loss_ab_pct", LossPct(e.want, e.atB))
	m.SetMetric("loss_ba_pct", LossPct(e.atB, e.echoed))
	m.SetMetric("loss_pct", LossPct(e.want+e.atB, e.atB+e.echoed))
	m.SetMetric("loss_rtt_pct", LossPct(e.want, e.echoed))
	e.rtts.Record(m, "rtt")
	m.SetMetric("loss_runs", float64(e.lossRuns))
	switch {
	case e.resumed && e.lossRuns > 1:
		m.AddEvidence("relay_gaps", fmt.Sprintf("relaying stopped and resumed %d times: binding again did not end the gaps, so they are not an expiry but the pattern of a rate limit (on the server: coturn max-bps, or on the path)", e.lossRuns))
	case e.resumed:
		m.SetMetric("bindings_expired", 1)
		m.AddEvidence("bindings_expired", fmt.Sprintf("relaying stopped %s after the channel was bound and resumed once channel and permission were bound again: the server expired them early (RFC 8656 keeps a channel 10 min, a permission 5 min)", roundDur(e.stalledAfter)))
	case e.stalledAfter > 0:
		m.AddEvidence("relay_stalled", fmt.Sprintf("relaying stopped %s into the test and did not resume after binding again", roundDur(e.stalledAfter)))
	}
}

// keepAlive refreshes what the relay test depends on while it runs: the
// permissions and channel bindings before RFC 8656's 5 min (refreshing a
// channel refreshes its permission), the allocations a minute before
// their lifetime ends, and at once when relaying stalls.
type keepAlive struct {
	a, b             *turnClient
	peerOfA, peerOfB *net.UDPAddr
	chA, chB         uint16
	lifetime         time.Duration // of the allocations, 0 if unknown
	// granted is when the first allocation was granted: its lifetime
	// runs from there, not from the start of the echo.
	granted time.Time
}

// bindingRefresh is how often permissions and channels are refreshed:
// before the 5 min a permission lives (RFC 8656 §9).
const bindingRefresh = 4 * time.Minute

func (k *keepAlive) rebind() {
	for _, side := range []struct {
		c    *turnClient
		peer *net.UDPAddr
		ch   uint16
	}{{k.a, k.peerOfA, k.chA}, {k.b, k.peerOfB, k.chB}} {
		if side.ch != 0 {
			_ = side.c.post(stun.MethodChannelBind, channelNumber(side.ch), peerAddress(side.peer))
		} else {
			_ = side.c.post(stun.MethodCreatePermission, peerAddress(side.peer))
		}
	}
}

func (k *keepAlive) refreshAllocations() {
	_ = k.a.post(stun.MethodRefresh)
	_ = k.b.post(stun.MethodRefresh)
}

// allocationRefresh is when the allocations are refreshed: a minute
// before they expire, or at half their lifetime when that is shorter.
func (k *keepAlive) allocationRefresh() time.Duration {
	if k.lifetime <= 0 {
		return 0
	}
	return max(k.lifetime-time.Minute, k.lifetime/2)
}

// A stall is this many packets in a row and this long without an echo
// after echoes came back: at 20 % random loss per hop, 25 round trips in
// a row are lost about once in 10^11.
const (
	stallPackets = 25
	stallTime    = 500 * time.Millisecond
)

// relayEcho sends cfg.Packets packets from a to b's relay and has b echo
// each one back to a's relay, counting what arrives at each end.
func relayEcho(ctx context.Context, a, b *turnClient, keep *keepAlive, cfg TURNConfig) echoResult {
	var token [8]byte
	_, _ = rand.Read(token[:])
	base := time.Now()
	bAddr, aAddr, chA, chB := keep.peerOfA, keep.peerOfB, keep.chA, keep.chB

	// b echoes until told to stop: its deadline is moved to now. An
	// earlier run left it in the past.
	_ = b.conn.SetDeadline(time.Time{})
	var (
		wg  sync.WaitGroup
		atB int // written by b's goroutine, read after wg.Wait
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := make([]bool, cfg.Packets)
		for {
			d, err := b.readData()
			if err != nil {
				return
			}
			p := d.Payload
			if len(p) < echoHeaderSize || !bytes.Equal(p[:8], token[:]) {
				continue
			}
			if seq := binary.BigEndian.Uint32(p[8:12]); int(seq) < len(seen) && !seen[seq] {
				seen[seq] = true
				atB++
			}
			if err := b.sendData(aAddr, chB, p); err != nil {
				return
			}
		}
	}()
	stopB := sync.OnceFunc(func() { _ = b.conn.SetDeadline(time.Now()); wg.Wait() })
	defer stopB()

	// The pacer and this goroutine share what the stall rule needs.
	var (
		lastEchoAt  atomic.Int64 // since base, of the latest echo; 0: none yet
		lastEchoSeq atomic.Int64
		reboundAt   = atomic.Int64{} // sequence number sent first after binding again; -1: not yet
		stalledFor  atomic.Int64
		// pacedUntil is when the last packet went (since base; 0: not yet)
		// and echoWait how long its echo is waited for after it.
		pacedUntil atomic.Int64
	)
	reboundAt.Store(-1)

	// a sends on a pacer while this goroutine collects the echoes; when
	// the pacer is done it gives the echoes EchoWait more to arrive, never
	// past the deadline.
	deadline, _ := ctx.Deadline()
	_ = a.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = a.conn.SetDeadline(time.Now()) })
	defer stop()
	sentc := make(chan int, 1)
	var sendErr error // written before sentc is sent to
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	go func() {
		sent := 0
		defer func() {
			pacedUntil.Store(int64(time.Since(base)))
			if wait := time.Now().Add(cfg.EchoWait); ctx.Err() == nil && (deadline.IsZero() || wait.Before(deadline)) {
				_ = a.conn.SetReadDeadline(wait)
			}
			sentc <- sent
		}()
		tick := time.NewTicker(cfg.Interval)
		defer tick.Stop()
		nextBinding, nextAlloc := bindingRefresh, keep.allocationRefresh()
		refreshing := nextAlloc > 0
		if refreshing && !keep.granted.IsZero() {
			// A lifetime of a few seconds may be half gone before the
			// first packet.
			nextAlloc = keep.granted.Add(nextAlloc).Sub(base)
		}
		pkt := make([]byte, cfg.Size)
		copy(pkt, token[:])
		for i := 0; i < cfg.Packets; i++ {
			now := time.Since(base)
			if now >= nextBinding {
				keep.rebind()
				nextBinding += bindingRefresh
			}
			if refreshing && now >= nextAlloc {
				keep.refreshAllocations()
				nextAlloc = now + keep.allocationRefresh()
			}
			if last := lastEchoAt.Load(); last > 0 && reboundAt.Load() < 0 &&
				int64(i)-lastEchoSeq.Load() > stallPackets && now-time.Duration(last) > stallTime {
				stalledFor.Store(last)
				keep.rebind()
				reboundAt.Store(int64(i))
			}
			binary.BigEndian.PutUint32(pkt[8:12], uint32(i)) //nolint:gosec // i < Packets
			binary.BigEndian.PutUint64(pkt[12:20], uint64(time.Since(base)))
			if err := a.sendData(bAddr, chA, pkt); err != nil {
				sendErr = err
				return
			}
			sent++
			if i == cfg.Packets-1 {
				return
			}
			select {
			case <-tick.C:
			case <-sendCtx.Done():
				return
			}
		}
	}()

	var (
		res  = echoResult{want: cfg.Packets}
		seen = make([]bool, cfg.Packets)
	)
	var worst time.Duration // the longest round trip of an echo so far
	for len(res.rtts) < cfg.Packets {
		d, err := a.readData()
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				res.err = err // the stream broke or the server is gone
				break
			}
			// An echo is lost when it has not come within the echo wait,
			// or twice the longest round trip seen, after the last packet:
			// a path (or a machine) whose round trips reach a second
			// brings its echoes late, not lost.
			if paced := time.Duration(pacedUntil.Load()); ctx.Err() == nil && paced > 0 && 2*worst > cfg.EchoWait {
				wait := base.Add(paced + 2*worst)
				if !deadline.IsZero() && wait.After(deadline) {
					wait = deadline
				}
				if time.Until(wait) > 0 && a.conn.SetReadDeadline(wait) == nil {
					continue
				}
			}
			break // the echo wait is over or the context ended
		}
		p := d.Payload
		if len(p) < echoHeaderSize || !bytes.Equal(p[:8], token[:]) {
			continue
		}
		seq := binary.BigEndian.Uint32(p[8:12])
		if int(seq) >= len(seen) || seen[seq] {
			continue
		}
		seen[seq] = true
		rtt := time.Since(base) - time.Duration(binary.BigEndian.Uint64(p[12:20])) //nolint:gosec // our own timestamp
		res.rtts = append(res.rtts, rtt)
		worst = max(worst, rtt)
		lastEchoAt.Store(int64(time.Since(base)))
		lastEchoSeq.Store(max(lastEchoSeq.Load(), int64(seq)))
		if r := reboundAt.Load(); r >= 0 && int64(seq) >= r {
			res.resumed = true
		}
	}
	stopSending()
	res.sent = <-sentc
	if res.err == nil {
		res.err = sendErr
	}
	stopB()
	res.atB, res.echoed = atB, len(res.rtts)
	res.stalledAfter = time.Duration(stalledFor.Load())
	res.lossRuns = lossRuns(seen[:min(res.sent, len(seen))])
	if ctx.Err() == nil {
		_ = a.conn.SetDeadline(time.Time{}) // the allocation is released next
	}
	return res
}

// lossRuns counts the runs of two or more consecutive packets not echoed,
// leaving out a run that reaches the end (cut by the deadline or the echo
// wait, not lost on the way).
func lossRuns(echoed []bool) int {
	runs, n := 0, 0
	for _, ok := range echoed {
		switch {
		case !ok:
			n++
		case n >= 2:
			runs, n = runs+1, 0
		default:
			n = 0
		}
	}
	return runs
}
