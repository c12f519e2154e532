package probes

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ProxyError means the HTTP proxy did not open the tunnel: it refused
// CONNECT (Status is its answer) or could not be reached (Err).
type ProxyError struct {
	Proxy  string // redacted proxy URL
	Target string
	Status string
	Err    error
}

func (e *ProxyError) Error() string {
	if e.Status != "" {
		return fmt.Sprintf("proxy %s refused CONNECT to %s: %s", e.Proxy, e.Target, e.Status)
	}
	return fmt.Sprintf("proxy %s: %v", e.Proxy, e.Err)
}
func (e *ProxyError) Unwrap() error { return e.Err }

// ResolveProxy picks the HTTP proxy for a TCP connection to addr:
// explicit (the proxy option) when set, else HTTPS_PROXY / HTTP_PROXY / NO_PROXY
// from the environment for the given scheme ("https" for TLS and TURN,
// "http" for ws://). Loopback destinations never use an environment
// proxy. The second result names where the proxy came from.
func ResolveProxy(explicit *url.URL, scheme, addr string) (*url.URL, string) {
	if explicit != nil {
		return explicit, "the proxy setting"
	}
	u, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: scheme, Host: addr}})
	if err != nil || u == nil {
		return nil, ""
	}
	if scheme == "https" {
		return u, "HTTPS_PROXY"
	}
	return u, "HTTP_PROXY"
}

// ParseProxy validates an HTTP proxy URL: http://[user:pass@]host:port.
// Errors never quote the value: it may hold a password.
func ParseProxy(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole value, password included: keep only
		// the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" || u.Hostname() == "" || u.Port() == "" {
		return nil, errors.New("want http://HOST:PORT")
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return nil, errors.New("port must be 1-65535")
	}
	return u, nil
}

// ProxyName names the proxy a TCP or TLS connection to t goes through,
// without credentials or query tokens; "" when it connects directly.
func (t Target) ProxyName() string {
	if t.Transport.Network() != "tcp" {
		return ""
	}
	if u, _ := ResolveProxy(t.Proxy, "https", t.Addr()); u != nil {
		return redactURL(u)
	}
	return ""
}

// dialProxy opens a TCP tunnel to addr through an HTTP proxy with
// CONNECT.
func dialProxy(ctx context.Context, proxy *url.URL, addr string) (net.Conn, error) {
	name := redactURL(proxy)
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", proxy.Host)
	if err != nil {
		return nil, &ProxyError{Proxy: name, Target: addr, Err: err}
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(conn); err != nil {
		_ = conn.Close()
		return nil, &ProxyError{Proxy: name, Target: addr, Err: err}
	}
	br := bufio.NewReader(conn)
	resp, err := readHTTPHead(br)
	if err != nil {
		_ = conn.Close()
		var ne net.Error
		if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, &TimeoutError{Addr: proxy.Host, Transport: TCP, Stage: StageProxy, After: time.Since(start)}
		}
		return nil, &ProxyError{Proxy: name, Target: addr, Err: fmt.Errorf("answer to CONNECT: %w", err)}
	}
	if resp.Code != http.StatusOK {
		_ = conn.Close()
		return nil, &ProxyError{Proxy: name, Target: addr, Status: resp.Status}
	}
	if br.Buffered() > 0 {
		// The proxy must not speak first after 200; anything here is
		// the far end's, so keep it.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
