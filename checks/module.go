package checks

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

// Endpoint is a probe target as the allow-list sees it.
type Endpoint struct {
	// URI is the target's canonical form without credentials or query
	// values: "turn:turn.example.org:3478?transport=tcp",
	// "wss://signal.example.org/ws".
	URI  string
	Host string // lower case, without brackets
	Port int
}

// ServerEndpoint is a STUN/TURN server as an Endpoint.
func ServerEndpoint(s probes.Server) Endpoint {
	return Endpoint{URI: s.String(), Host: normalHost(s.URI.Host), Port: s.URI.Port}
}

// Allows returns the first rule that lets e in, or false.
func (m *Module) Allows(e Endpoint) (AllowRule, bool) {
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
	uri    *regexp.Regexp
}

func (r AllowRule) String() string { return r.Text }

// Allows reports whether the rule lets e in.
func (r AllowRule) Allows(e Endpoint) bool {
	switch {
	case r.any:
		return true
	case r.uri != nil:
		return r.uri.MatchString(e.URI)
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
		if strings.HasPrefix(text, scheme) {
			r.uri = globRegexp(canonicalPattern(text))
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

// canonicalPattern writes a STUN/TURN URI pattern without wildcards the
// way targets are written (default port added), so "turn:h" matches the
// target "turn:h:3478".
func canonicalPattern(text string) string {
	if strings.Contains(text, "*") {
		return text
	}
	if s, err := probes.ParseServer(text); err == nil {
		return s.String()
	}
	return text
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

// URLEndpoint is a ws:// or wss:// URL as an Endpoint: without its query
// (tokens ride there), with the scheme's default port.
func URLEndpoint(u *url.URL) Endpoint {
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"ws": 80, "wss": 443}[u.Scheme]
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return Endpoint{URI: c.String(), Host: normalHost(u.Hostname()), Port: port}
}
