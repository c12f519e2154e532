package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// dial connects to t over its transport under ctx and maps every failure
// to one of the typed errors: DNSError, RefusedError, TimeoutError or
// TLSError. For UDP the socket is connected, so ICMP port unreachable
// shows up as ECONNREFUSED on the next read.
func dial(ctx context.Context, t Target) (net.Conn, error) {
	start := time.Now()
	var (
		conn net.Conn
		err  error
	)
	if proxy, _ := ResolveProxy(t.Proxy, "https", t.Addr()); proxy != nil && t.Transport.Network() == "tcp" {
		// The proxy resolves the name, as a browser's would.
		conn, err = dialProxy(ctx, proxy, t.Addr())
	} else {
		var addr string
		if addr, err = resolve(ctx, t, start); err != nil {
			return nil, err
		}
		var d net.Dialer
		conn, err = d.DialContext(ctx, t.Transport.Network(), addr)
		if uc, ok := conn.(*net.UDPConn); ok {
			conn = newICMPConn(uc)
		}
	}
	if err != nil {
		return nil, classify(err, t, start, StageFirstAnswer)
	}
	if t.Transport != TLS {
		return conn, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.TLS != nil {
		cfg = t.TLS.Clone()
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg.ServerName = t.Server.URI.Host
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := handshakeContext(ctx)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = conn.Close()
		return nil, classify(err, t, start, StageTLS)
	}
	return tc, nil
}

// TURNDialer connects a pion peer to t's TURN server over TCP or TLS as
// the TURN probes do: through t's proxy, verifying the certificate against
// t.TLS (pion's own TLS client knows only the system's roots), and under
// ctx, which a pion dial has no other way to honour. Other addresses are
// refused: the peer has no business elsewhere.
func TURNDialer(ctx context.Context, t Target) Dialer {
	return dialFunc(func(_, addr string) (net.Conn, error) {
		if addr != t.Addr() {
			return nil, fmt.Errorf("TURN server %s is not this call's (%s)", addr, t.Addr())
		}
		return dial(ctx, t)
	})
}

type dialFunc func(network, addr string) (net.Conn, error)

func (f dialFunc) Dial(network, addr string) (net.Conn, error) { return f(network, addr) }

// resolve turns the target's host into an IP:port, naming DNS failures.
func resolve(ctx context.Context, t Target, start time.Time) (string, error) {
	host, port := t.Server.URI.Host, strconv.Itoa(t.Server.URI.Port)
	if net.ParseIP(host) != nil {
		return t.Addr(), nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return "", &TimeoutError{Addr: host, Transport: t.Transport, Stage: StageDNS, After: time.Since(start)}
		}
		return "", &DNSError{Host: host, Err: err}
	}
	if len(ips) == 0 {
		return "", &DNSError{Host: host, Err: errors.New("no addresses")}
	}
	return net.JoinHostPort(ips[0].IP.String(), port), nil
}

// classify maps a network error to a typed error. stage names what was in
// progress when it is not the first exchange ("TLS handshake").
func classify(err error, t Target, start time.Time, stage Stage) error {
	if err == nil {
		return nil
	}
	var (
		already *TimeoutError
		refused *RefusedError
		tlsErr  *TLSError
		dnsErr  *DNSError
		proxy   *ProxyError
	)
	if errors.As(err, &already) || errors.As(err, &refused) || errors.As(err, &tlsErr) || errors.As(err, &dnsErr) || errors.As(err, &proxy) {
		return err
	}
	var (
		icmp  *ICMPError
		local *LocalRefusalError
		unr   *UnreachableError
	)
	switch {
	case errors.As(err, &local) || errors.As(err, &unr):
		return err
	case errors.As(err, &icmp) && icmp.PortUnreachable():
		noteRefusal(t.Addr())
		return &RefusedError{Addr: t.Addr(), Transport: t.Transport, ICMP: &icmp.ICMPReport}
	case errors.As(err, &icmp):
		return &UnreachableError{Addr: t.Addr(), Transport: t.Transport, ICMP: &icmp.ICMPReport, Err: err}
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return &UnreachableError{Addr: t.Addr(), Transport: t.Transport, Err: err}
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES):
		return &LocalRefusalError{Err: err}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		if t.Transport.Network() == "udp" {
			noteRefusal(t.Addr())
		}
		return &RefusedError{Addr: t.Addr(), Transport: t.Transport}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		if stage == "" && t.Transport.Network() == "udp" {
			return udpSilence(t, time.Since(start))
		}
		return &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: time.Since(start), Stage: stage}
	}
	if stage == StageTLS {
		return &TLSError{Addr: t.Addr(), Err: err}
	}
	return err
}
