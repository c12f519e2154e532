package probes

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/pion/stun/v4"
)

// Transport is how a probe reaches a server.
type Transport string

// Transports a STUN/TURN server can be reached over.
const (
	UDP  Transport = "udp"
	TCP  Transport = "tcp"
	TLS  Transport = "tls"  // TCP + TLS (stuns:, turns:)
	DTLS Transport = "dtls" // UDP + DTLS (turns:…?transport=udp)
)

// Upper is the transport as written in prose: "UDP", "TLS".
func (t Transport) Upper() string { return strings.ToUpper(string(t)) }

// Network is the Go network name under the transport: "udp" or "tcp".
func (t Transport) Network() string {
	if t == UDP || t == DTLS {
		return "udp"
	}
	return "tcp"
}

// Server is an ICE server as the user named it (RFC 7064 / RFC 7065 URI)
// plus its credentials. Credentials never leave this struct in output:
// String() prints the URI only.
type Server struct {
	URI stun.URI
	// ExplicitTransport is true when a turn(s): URI carried ?transport=;
	// without it, every transport the scheme allows is probed.
	ExplicitTransport bool
	Username          string
	Password          string
	// REST, when set, mints Username and Password for each run.
	REST *RESTSecret
	// PublicCredential marks a static Username and Password the operator
	// lets anyone have: the pre-call page hands a server's credential to
	// every visitor, and leaves out one not marked so.
	PublicCredential bool
}

// ParseServer parses a stun:, stuns:, turn: or turns: URI. Errors name the
// input and what is wrong with it.
func ParseServer(raw string) (Server, error) {
	s, err := parseServer(raw)
	if err != nil {
		return Server{}, &URIError{URI: RedactURI(raw), Err: err}
	}
	return s, nil
}

func parseServer(raw string) (Server, error) {
	if strings.TrimSpace(raw) != raw || raw == "" {
		return Server{}, errors.New("empty or surrounded by spaces")
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Server{}, errors.New("missing scheme (want stun:, stuns:, turn: or turns:)")
	}
	if stun.NewSchemeType(scheme) == stun.SchemeTypeUnknown {
		return Server{}, fmt.Errorf("unknown scheme %q (want stun, stuns, turn or turns)", scheme)
	}
	if strings.HasPrefix(rest, "//") {
		return Server{}, errors.New("unexpected \"//\" (RFC 7064/7065 URIs have none: stun:host:port)")
	}
	hostport, query, _ := strings.Cut(rest, "?")
	if strings.Contains(hostport, "@") {
		return Server{}, errors.New("credentials in the URI (user:password@ before the host) are not allowed; give the username and password separately")
	}
	if hostport == "" {
		return Server{}, errors.New("missing host")
	}
	if err := checkHostPort(hostport); err != nil {
		return Server{}, err
	}
	u, err := stun.ParseURI(raw)
	if err != nil {
		switch {
		case errors.Is(err, stun.ErrSTUNQuery):
			return Server{}, errors.New("stun: and stuns: URIs take no query (RFC 7064)")
		case errors.Is(err, stun.ErrProtoType):
			return Server{}, errors.New("unsupported transport (want ?transport=udp or ?transport=tcp)")
		case errors.Is(err, stun.ErrInvalidQuery):
			return Server{}, errors.New("invalid query (only ?transport=udp|tcp is allowed)")
		}
		return Server{}, err
	}
	return Server{URI: *u, ExplicitTransport: query != ""}, nil
}

// checkHostPort validates what pion's parser accepts too loosely.
func checkHostPort(hostport string) error {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return errors.New("unterminated IPv6 literal")
		}
		host, port = hostport[1:end], strings.TrimPrefix(hostport[end+1:], ":")
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return fmt.Errorf("invalid IPv6 address %q", host)
		}
		if hostport[end+1:] != "" && !strings.HasPrefix(hostport[end+1:], ":") {
			return fmt.Errorf("unexpected %q after IPv6 address", hostport[end+1:])
		}
	} else if i := strings.LastIndex(hostport, ":"); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
		if strings.Contains(host, ":") {
			return errors.New("IPv6 addresses must be in brackets: [::1]")
		}
	}
	if host == "" {
		return errors.New("missing host")
	}
	if !validHostname(host) && net.ParseIP(host) == nil {
		return fmt.Errorf("invalid host %q", host)
	}
	if strings.HasSuffix(hostport, ":") {
		return errors.New("missing port after \":\"")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("invalid port %q (want 1-65535)", port)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A hostname that is all digits and dots is a malformed IPv4 address.
	return strings.Trim(h, "0123456789.") != ""
}

// IsTURN is true for turn: and turns: servers.
func (s Server) IsTURN() bool {
	return s.URI.Scheme == stun.SchemeTypeTURN || s.URI.Scheme == stun.SchemeTypeTURNS
}

// Addr is host:port, with IPv6 literals bracketed.
func (s Server) Addr() string { return net.JoinHostPort(s.URI.Host, strconv.Itoa(s.URI.Port)) }

// String is the URI in canonical form, without credentials.
func (s Server) String() string {
	out := s.URI.Scheme.String() + ":" + s.Addr()
	if s.IsTURN() && s.ExplicitTransport {
		out += "?transport=" + s.URI.Proto.String()
	}
	return out
}

// Transports lists what this server is probed over: stun: → UDP and TCP,
// stuns: → TLS, turn: → UDP and TCP (or the one named), turns: → TLS (or
// DTLS when ?transport=udp).
func (s Server) Transports() []Transport {
	switch s.URI.Scheme {
	case stun.SchemeTypeSTUN:
		return []Transport{UDP, TCP}
	case stun.SchemeTypeSTUNS:
		return []Transport{TLS}
	case stun.SchemeTypeTURN:
		if !s.ExplicitTransport {
			return []Transport{UDP, TCP}
		}
		if s.URI.Proto == stun.ProtoTypeTCP {
			return []Transport{TCP}
		}
		return []Transport{UDP}
	case stun.SchemeTypeTURNS:
		if s.ExplicitTransport && s.URI.Proto == stun.ProtoTypeUDP {
			return []Transport{DTLS}
		}
		return []Transport{TLS}
	}
	return nil
}

// Target is one server reached over one transport: what a probe runs
// against.
type Target struct {
	Server    Server
	Transport Transport
	// TLS configures stuns:/turns: connections (CA pool, --insecure). Nil
	// means the system roots and the URI host as the server name.
	TLS *tls.Config
	// Proxy is the HTTP proxy TCP and TLS connections go through (CONNECT);
	// nil means HTTPS_PROXY from the environment, if any.
	Proxy *url.URL
}

// String names the target without secrets.
func (t Target) String() string { return t.Server.String() }

// Addr is the host:port to dial.
func (t Target) Addr() string { return t.Server.Addr() }
