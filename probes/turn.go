package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
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

// TURN allocates a relay on t with the server's credentials, allocates a
// second relay on the same server, and sends packets from one relayed
// address to the other and back, through permissions and a bound channel
// (Send/Data indications when the server refuses the channel).
//
// Metrics: alloc_ms (first Allocate including the 401 challenge),
// connect_ms (TCP/TLS/DTLS), rtt_{min,median,p95,max}_ms of the relayed
// echo, loss_pct, packets_sent, packets_received, relay_ipv6 (1 when an
// IPv6 relay was granted on request, 0 when refused) and relay_unroutable
// (1 when a public server hands out a private or loopback relay address).
// Evidence: relayed_address, peer_relayed_address, mapped_address,
// channel, relay_ipv6, software.
func TURN(ctx context.Context, t Target, cfg TURNConfig) Measurement {
	cfg = cfg.withDefaults()
	var m Measurement

	a, err := dialTURN(ctx, t)
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
		if a, err = dialTURN(ctx, t); err != nil {
			m.Err = err
			return m
		}
		allocA, err = a.allocate(ctx, 0)
	}
	defer a.Close()
	if err != nil {
		m.Err = err
		return m
	}
	m.SetMetric("alloc_ms", ms(time.Since(allocStart)))
	defer releaseQuietly(ctx, a)
	m.AddEvidence("relayed_address", allocA.Relayed.String())
	if allocA.Mapped != nil {
		m.AddEvidence("mapped_address", allocA.Mapped.String())
	}
	if allocA.Software != "" {
		m.AddEvidence("software", allocA.Software)
	}
	m.SetMetric("relay_unroutable", boolMetric(unroutable(allocA.Relayed.IP) && !unroutable(serverIP(a))))

	b, allocB, _, err := dialAllocate(ctx, t, 0)
	if err != nil {
		m.Err = fmt.Errorf("second allocation: %w", err)
		return m
	}
	defer b.Close()
	defer releaseQuietly(ctx, b)
	m.AddEvidence("peer_relayed_address", allocB.Relayed.String())

	if err := a.createPermission(ctx, allocB.Relayed); err != nil {
		m.Err = err
		return m
	}
	if err := b.createPermission(ctx, allocA.Relayed); err != nil {
		m.Err = err
		return m
	}
	chA := bindOrIndicate(ctx, a, allocB.Relayed, &m)
	chB := bindOrIndicate(ctx, b, allocA.Relayed, &m)
	if m.Err != nil {
		return m
	}
	if chA != 0 && chB != 0 {
		m.AddEvidence("channel", fmt.Sprintf("bound %#04x both ways", firstChannel))
	}

	rtts, sent := relayEcho(ctx, a, b, allocB.Relayed, allocA.Relayed, chA, chB, cfg)
	m.SetMetric("packets_sent", float64(sent))
	m.SetMetric("packets_received", float64(len(rtts)))
	m.SetMetric("loss_pct", LossPct(sent, len(rtts)))
	rtts.Record(&m, "rtt")
	if sent == 0 {
		m.Err = &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: time.Since(a.start), Stage: StageRelayTest}
		return m
	}

	if !cfg.SkipIPv6 && ctx.Err() == nil {
		probeIPv6Relay(ctx, t, &m)
	}
	return m
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
	case errors.As(err, &se):
		m.SetMetric("relay_ipv6", 0)
		m.AddEvidence("relay_ipv6", fmt.Sprintf("refused: %d %s", se.Code, se.Reason))
	default:
		m.AddEvidence("relay_ipv6", "not known: "+err.Error())
	}
}

func releaseQuietly(ctx context.Context, c *turnClient) {
	if ctx.Err() != nil {
		return
	}
	_ = c.release(ctx) // the allocation expires on its own if this fails
}

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

// relayEcho sends cfg.Packets packets from a (to peer bAddr) and has b echo
// each one back to aAddr; it returns the round-trip times of the echoes
// that came back and how many packets were sent.
func relayEcho(ctx context.Context, a, b *turnClient, bAddr, aAddr *net.UDPAddr, chA, chB uint16, cfg TURNConfig) (Durations, int) {
	var token [8]byte
	_, _ = rand.Read(token[:])
	base := time.Now()

	// b echoes until told to stop: its read deadline is moved to now.
	_ = b.conn.SetReadDeadline(time.Time{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			d, err := b.readData()
			if err != nil {
				return
			}
			if !bytes.HasPrefix(d.Payload, token[:]) {
				continue
			}
			if err := b.sendData(aAddr, chB, d.Payload); err != nil {
				return
			}
		}
	}()
	defer func() { _ = b.conn.SetDeadline(time.Now()); wg.Wait() }()

	// a sends on a pacer while this goroutine collects the echoes; when
	// the pacer is done it gives the echoes EchoWait more to arrive.
	_ = a.conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = a.conn.SetDeadline(time.Now()) })
	defer stop()
	sentc := make(chan int, 1)
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	go func() {
		sent := 0
		defer func() {
			if ctx.Err() == nil {
				_ = a.conn.SetReadDeadline(time.Now().Add(cfg.EchoWait))
			}
			sentc <- sent
		}()
		tick := time.NewTicker(cfg.Interval)
		defer tick.Stop()
		pkt := make([]byte, cfg.Size)
		copy(pkt, token[:])
		for i := 0; i < cfg.Packets; i++ {
			binary.BigEndian.PutUint32(pkt[8:12], uint32(i)) //nolint:gosec // i < Packets
			binary.BigEndian.PutUint64(pkt[12:20], uint64(time.Since(base)))
			if err := a.sendData(bAddr, chA, pkt); err != nil {
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
		rtts Durations
		seen = make([]bool, cfg.Packets)
	)
	for len(rtts) < cfg.Packets {
		d, err := a.readData()
		if err != nil {
			break // the echo wait is over, the context ended, or the stream broke
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
		rtts = append(rtts, time.Since(base)-time.Duration(binary.BigEndian.Uint64(p[12:20]))) //nolint:gosec // our own timestamp
	}
	stopSending()
	sent := <-sentc
	if ctx.Err() == nil {
		_ = a.conn.SetDeadline(time.Time{}) // the allocation is released next
	}
	return rtts, sent
}
