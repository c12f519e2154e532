package probes

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"time"

	"github.com/pion/dtls/v3"
)

// dtlsFollowUp is the time kept at the end of the deadline for the
// follow-up to a silent DTLS port.
const dtlsFollowUp = 600 * time.Millisecond

// dialDTLS runs a DTLS handshake with t over a connected UDP socket, so an
// ICMP error (port unreachable, prohibited) ends it at once with its type
// instead of a wait for the deadline. A handshake that hears nothing is
// followed by one STUN Binding request to the same port: a port that
// answers STUN but not DTLS has no DTLS listener, one that refuses it
// has nothing listening, and silence again leaves the path in doubt.
func dialDTLS(ctx context.Context, t Target, start time.Time) (net.Conn, error) {
	addr, err := resolve(ctx, t, start)
	if err != nil {
		return nil, err
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, &DNSError{Host: t.Server.URI.Host, Err: err}
	}
	uc, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, classify(err, t, start, StageFirstAnswer)
	}
	dc, err := dtls.ClientWithOptions(connectedPacketConn{newICMPConn(uc)}, raddr, dtlsOptions(t)...)
	if err != nil {
		_ = uc.Close()
		return nil, err
	}
	hctx, cancel := handshakeContext(ctx)
	defer cancel()
	if err := dc.HandshakeContext(hctx); err != nil {
		_ = dc.Close()
		var icmp *ICMPError
		if errors.As(err, &icmp) || errors.As(err, new(*LocalRefusalError)) {
			return nil, classify(err, t, start, StageFirstAnswer)
		}
		if hctx.Err() != nil {
			stunFollowUp(ctx, t)
			return nil, &TimeoutError{Addr: t.Addr(), Transport: DTLS, After: time.Since(start)}
		}
		return nil, &TLSError{Addr: t.Addr(), Err: err}
	}
	return dc, nil
}

// handshakeContext leaves room for the follow-up when the deadline allows
// it.
func handshakeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || time.Until(d) < 2*dtlsFollowUp {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-dtlsFollowUp))
}

// stunFollowUp sends one Binding request over UDP to t's port and records
// what came back.
func stunFollowUp(ctx context.Context, t Target) {
	u := t
	u.Transport = UDP
	m := STUN(ctx, u, STUNConfig{Count: 1, RequestTimeout: dtlsFollowUp - 100*time.Millisecond})
	o, ok := ObservationOf(m.Err)
	if !ok {
		o = Observation{Transport: string(UDP), To: t.Addr(), Outcome: OutcomeAnswered, AfterMS: m.Metrics["rtt_median_ms"]}
	}
	o.Step = "follow-up: STUN Binding request to the DTLS port"
	Observe(ctx, o)
}

func dtlsOptions(t Target) []dtls.ClientOption {
	name := t.Server.URI.Host
	var roots *x509.CertPool
	opts := []dtls.ClientOption{dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret)}
	if t.TLS != nil {
		roots = t.TLS.RootCAs
		opts = append(opts, dtls.WithRootCAs(roots), dtls.WithInsecureSkipVerify(t.TLS.InsecureSkipVerify))
		name = cmp.Or(t.TLS.ServerName, name)
	}
	opts = append(opts, dtls.WithServerName(name))
	if t.TLS == nil || !t.TLS.InsecureSkipVerify {
		// Verify again exactly as crypto/tls does for turns: over TCP,
		// IP SANs included: older pion/dtls releases skipped the name
		// check for an IP host.
		opts = append(opts, dtls.WithVerifyPeerCertificate(func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyLikeTLS(raw, roots, name)
		}))
	}
	return opts
}

// connectedPacketConn lets pion/dtls, which speaks net.PacketConn, use a
// connected UDP socket: the kernel reports ICMP errors only to connected
// sockets (and to ones with IP_RECVERR), and only the peer's datagrams
// reach it.
type connectedPacketConn struct{ icmpConn }

func (c connectedPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := c.Read(b)
	return n, c.RemoteAddr(), err
}

func (c connectedPacketConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.Write(b) }
