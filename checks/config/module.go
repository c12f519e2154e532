package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Module is what `rtcprobe serve` runs for /probe?module=NAME&target=URI:
// a profile (checks, options, thresholds, fail_on) plus the credentials
// it presents to the target and the targets it may be pointed at.
type Module struct {
	// Profile selects the checks and sets options and thresholds; its
	// Name is the module's.
	Profile
	// Username and Password are the TURN long-term credentials; REST, when
	// set, mints fresh ones for each probe instead.
	Username, Password string
	REST               *probes.RESTSecret
	// AllowedTargets is the allow-list; a target no rule matches is
	// refused.
	AllowedTargets []AllowRule
	// MaxConcurrent caps the module's probes in flight; 0 leaves only the
	// exporter's global limit.
	MaxConcurrent int
	// Where names the module's definition: "rtcprobe.yml:12".
	Where string
}

// Config is the module as a config of its own: one profile, no servers,
// no layer besides the profile's. A module run resolves it like any
// config, so it judges as the CLI does with that profile.
func (m *Module) Config() *Config {
	return &Config{File: m.Where, Profiles: map[string]*Profile{m.Name: &m.Profile}, Profile: m.Name}
}

// Credentials gives a server the module's credentials (TURN servers only).
func (m *Module) Credentials(s probes.Server) probes.Server {
	if s.IsTURN() {
		s.Username, s.Password, s.REST = m.Username, m.Password, m.REST
	}
	return s
}

// TargetParts is a probe target as the allow-list sees it.
type TargetParts struct {
	// URI is the target's canonical form without credentials or query
	// values: "turn:turn.example.org:3478?transport=tcp",
	// "wss://signal.example.org/ws".
	URI    string
	Scheme string // lower case: "turn", "wss"
	Host   string // lower case, without brackets
	Port   int
	// Transport is a TURN URI's explicit ?transport= ("udp", "tcp"), or "".
	Transport string
	// Path is a WebSocket URL's path, or "".
	Path string
}

// ServerTargetParts is a STUN/TURN server as an TargetParts.
func ServerTargetParts(s probes.Server) TargetParts {
	e := TargetParts{URI: s.String(), Scheme: s.URI.Scheme.String(), Host: normalHost(s.URI.Host), Port: s.URI.Port}
	if s.IsTURN() && s.ExplicitTransport {
		e.Transport = s.URI.Proto.String()
	}
	return e
}

// Allows returns the first rule that lets e in, or false.
func (m *Module) Allows(e TargetParts) (AllowRule, bool) {
	for _, r := range m.AllowedTargets {
		if r.Allows(e) {
			return r, true
		}
	}
	return AllowRule{}, false
}

// AllowRule is one entry of allowed_targets:
//
//   - any target (must be written out)
//     turn.example.org, 192.0.2.7     a host (any port, any scheme)
//     *.example.org                   a host glob (* is any run of characters)
//     turn.example.org:3478, [::1]:3478   a host and port
//     10.0.0.0/8, 2001:db8::/32       a CIDR: IP-literal targets inside it
//     turns:*.example.org:443, wss://signal.example.org/*   a URI pattern
//
// CIDRs match targets written as IP addresses; a host name is matched by
// name, never by what it resolves to, so DNS cannot widen the list.
type AllowRule struct {
	Text   string
	any    bool
	prefix netip.Prefix
	host   *regexp.Regexp // host or host glob
	port   int            // 0: any
	uri    *uriPattern
}

func (r AllowRule) String() string { return r.Text }

// Allows reports whether the rule lets e in.
func (r AllowRule) Allows(e TargetParts) bool {
	switch {
	case r.any:
		return true
	case r.uri != nil:
		return r.uri.allows(e)
	case r.prefix.IsValid():
		ip, err := netip.ParseAddr(e.Host)
		return err == nil && r.prefix.Contains(ip.Unmap())
	}
	return r.host.MatchString(e.Host) && (r.port == 0 || r.port == e.Port)
}

var uriSchemes = []string{"stun:", "stuns:", "turn:", "turns:", "ws://", "wss://"}

// ParseAllowRule reads one allowed_targets entry.
func ParseAllowRule(text string) (AllowRule, error) {
	r := AllowRule{Text: text}
	bad := func(why string) (AllowRule, error) { return r, errors.New(why) }
	switch {
	case text == "*":
		r.any = true
		return r, nil
	case strings.TrimSpace(text) != text || text == "":
		return bad("empty or surrounded by spaces")
	case strings.ContainsAny(text, "@ \t"):
		return bad("a rule names hosts and URIs, never credentials or spaces")
	}
	for _, scheme := range uriSchemes {
		if strings.HasPrefix(strings.ToLower(text), scheme) {
			p, err := parseURIPattern(text)
			if err != nil {
				return bad(err.Error())
			}
			r.uri = p
			return r, nil
		}
	}
	if strings.Contains(text, "/") {
		p, err := netip.ParsePrefix(text)
		if err != nil {
			return bad("not a CIDR like 10.0.0.0/8 (a URI pattern starts with stun:, stuns:, turn:, turns:, ws:// or wss://)")
		}
		r.prefix = p.Masked()
		return r, nil
	}
	host := text
	if h, p, err := net.SplitHostPort(text); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("invalid port %q (want 1-65535)", p))
		}
		host, r.port = h, n
	} else if strings.Count(text, ":") == 1 {
		return bad("want host:port with a port from 1 to 65535")
	}
	host = normalHost(host)
	if strings.Trim(host, "*") == "" {
		return bad(`a glob of only "*": write "*" alone to allow any target`)
	}
	if !strings.Contains(host, "*") {
		if _, err := netip.ParseAddr(host); err != nil && !hostnameLike(host) {
			return bad(fmt.Sprintf("invalid host %q", host))
		}
	}
	r.host = globRegexp(host)
	return r, nil
}

// uriPattern is a URI rule taken apart: each part is matched on its own,
// never the URI as a string, so a glob cannot stretch from the host into
// the port, path or query ("ws://127.0.0.1:1/.example.org/" is not a host
// of *.example.org).
type uriPattern struct {
	scheme    string
	host      *regexp.Regexp
	port      int    // 0: any ("*")
	transport string // "": any
	path      *regexp.Regexp
}

func (p *uriPattern) allows(e TargetParts) bool {
	return strings.EqualFold(p.scheme, e.Scheme) && p.host.MatchString(e.Host) &&
		(p.port == 0 || p.port == e.Port) &&
		(p.transport == "" || p.transport == e.Transport) &&
		(p.path == nil || p.path.MatchString(e.Path))
}

// defaultPorts are the ports a URI without one means (RFC 7064, 7065, 6455).
var defaultPorts = map[string]int{"stun": 3478, "turn": 3478, "stuns": 5349, "turns": 5349, "ws": 80, "wss": 443}

// parseURIPattern reads "turns:*.example.org:443?transport=tcp" or
// "wss://signal.example.org/*": scheme, host (glob), port (a number, "*"
// or the scheme's default), then ?transport= (STUN/TURN) or a path glob
// (WebSocket; none means "/" or nothing).
func parseURIPattern(text string) (*uriPattern, error) {
	scheme, rest, _ := strings.Cut(text, ":")
	p := &uriPattern{scheme: strings.ToLower(scheme)}
	authority := rest
	if p.scheme == "ws" || p.scheme == "wss" {
		rest = strings.TrimPrefix(rest, "//")
		if strings.ContainsAny(rest, "?#") {
			return nil, errors.New("a WebSocket URL pattern takes no query or fragment (the query is never matched)")
		}
		authority = rest
		path := ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			authority, path = rest[:i], rest[i:]
		}
		if path == "" {
			path = "/"
		}
		p.path = globRegexp(path)
		if path == "/" {
			p.path = regexp.MustCompile(`^/?$`)
		}
	} else {
		var query string
		authority, query, _ = strings.Cut(rest, "?")
		switch query {
		case "":
		case "transport=udp", "transport=tcp":
			p.transport = strings.TrimPrefix(query, "transport=")
		default:
			return nil, errors.New("the only query a STUN/TURN pattern takes is ?transport=udp or ?transport=tcp")
		}
		if strings.ContainsAny(authority, "/#") || strings.HasPrefix(rest, "//") {
			return nil, errors.New(`a STUN/TURN pattern is scheme:host[:port][?transport=…], with no "//" or path`)
		}
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 || (authority[end+1:] != "" && authority[end+1] != ':') {
			return nil, errors.New("malformed [IPv6] host")
		}
		host, port = authority[1:end], strings.TrimPrefix(authority[end+1:], ":")
	} else if h, pt, ok := strings.Cut(authority, ":"); ok {
		if strings.Contains(pt, ":") {
			return nil, errors.New("an IPv6 host is written in brackets: [2001:db8::1]:3478")
		}
		host, port = h, pt
	}
	host = normalHost(host)
	switch {
	case host == "":
		return nil, errors.New("missing host")
	case !strings.Contains(host, "*"):
		if _, err := netip.ParseAddr(host); err != nil && !hostnameLike(host) {
			return nil, fmt.Errorf("invalid host %q", host)
		}
	case strings.Trim(host, "*.-_abcdefghijklmnopqrstuvwxyz0123456789:") != "":
		return nil, fmt.Errorf("invalid host glob %q (letters, digits, '.', '-', '_' and '*')", host)
	}
	p.host = globRegexp(host)
	switch port {
	case "":
		p.port = defaultPorts[p.scheme]
	case "*":
	default:
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("invalid port %q (want 1-65535 or *)", port)
		}
		p.port = n
	}
	return p, nil
}

// globRegexp matches s whole with * standing for any run of characters.
func globRegexp(s string) *regexp.Regexp {
	parts := strings.Split(s, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^(?i:" + strings.Join(parts, ".*") + ")$")
}

func normalHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func hostnameLike(h string) bool {
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return len(h) <= 253
}

// URLEndpoint is a ws:// or wss:// URL as an TargetParts: without its query
// (tokens ride there), with the scheme's default port.
func URLEndpoint(u *url.URL) TargetParts {
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"ws": 80, "wss": 443}[u.Scheme]
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return TargetParts{URI: c.String(), Scheme: strings.ToLower(u.Scheme), Host: normalHost(u.Hostname()), Port: port, Path: u.Path}
}
