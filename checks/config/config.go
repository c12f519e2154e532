// Package config reads rtcprobe's configuration: the file (servers,
// checks, thresholds, profiles, modules, the pre-call section), the
// options table the command line shares, and the selection grammar. It
// knows the catalogue only as Entries handed to it, so what loads a
// config does not link the checks or the browser driver.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Config is a parsed configuration file: what to probe, what to run and
// what counts as good. Credentials live only in Servers (probes.Server
// never prints them).
type Config struct {
	// File is the path the config was read from, for messages.
	File    string
	Servers []probes.Server
	// WHIP and WHEP are the media server endpoints (whip:, whep:), with
	// their bearer tokens.
	WHIP, WHEP *probes.Endpoint
	// Checks select what runs (the selection grammar); empty means every
	// check the profile selects.
	Checks []Pattern
	// Profile is used when no profile is named by the front end.
	Profile string
	// Options are the options the file sets, top-level ones included.
	Options    Layer
	Thresholds []ThresholdRule
	// Profiles defined by this file; they replace built-ins of the same name.
	Profiles map[string]*Profile
	// Modules are what `rtcprobe serve` probes with (/probe?module=NAME).
	Modules map[string]*Module
	// Precall is the hosted pre-call page's section; nil when absent.
	Precall *Precall
}

// ThresholdRule sets thresholds on every check a pattern matches. A rule's
// threshold replaces the check's threshold on the same metric and level;
// the others stay.
type ThresholdRule struct {
	Pattern    Pattern
	Thresholds []result.Threshold
}

// Error is one problem in a config file, located.
type Error struct {
	File   string
	Line   int
	Column int
	// Field is the path to the bad value: "servers[1].ttl".
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Env is what parsing a config depends on besides its text.
type Env struct {
	// Catalog is the checks patterns may name (checks.Entries).
	Catalog   []Entry
	LookupEnv func(string) (string, bool)
}

// Parse parses and validates a config. All problems are reported at
// once as Errors, each with file, line and field.
func Parse(file string, data []byte, env Env) (*Config, error) {
	if env.LookupEnv == nil {
		env.LookupEnv = func(string) (string, bool) { return "", false }
	}
	p := &configParser{file: file, env: env}
	cfg := &Config{File: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{p.yamlError(err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty config"}}
	}
	root, err := expandAliases(doc.Content[0], 0, new(int))
	if err != nil {
		return nil, Errors{{File: file, Line: root.Line, Msg: err.Error()}}
	}
	p.top(root, cfg)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	return cfg, nil
}

// expandAliases returns a copy of the tree with *aliases replaced by what
// they point at and "<<" merge keys folded into their mapping (keys
// written in the mapping win), so the parser sees plain data. Sizes are
// bounded against alias bombs.
func expandAliases(n *yaml.Node, depth int, count *int) (*yaml.Node, error) {
	*count++
	if depth > 64 || *count > 100000 {
		return n, errors.New("config too deeply nested or too many alias expansions")
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return expandAliases(n.Alias, depth+1, count)
	}
	out := *n
	out.Content = nil
	if n.Kind != yaml.MappingNode {
		for _, c := range n.Content {
			e, err := expandAliases(c, depth+1, count)
			if err != nil {
				return e, err
			}
			out.Content = append(out.Content, e)
		}
		return &out, nil
	}
	var merged, own []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		v, err := expandAliases(n.Content[i+1], depth+1, count)
		if err != nil {
			return v, err
		}
		if k.Value != "<<" || k.Tag != "!!merge" {
			own = append(own, k, v)
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				return k, errors.New("a << merge key needs a mapping or a list of mappings")
			}
			merged = append(merged, src.Content...)
		}
	}
	have := map[string]bool{}
	for i := 0; i < len(own); i += 2 {
		have[own[i].Value] = true
	}
	for i := 0; i+1 < len(merged); i += 2 {
		if !have[merged[i].Value] {
			have[merged[i].Value] = true
			out.Content = append(out.Content, merged[i], merged[i+1])
		}
	}
	out.Content = append(out.Content, own...)
	return &out, nil
}

type configParser struct {
	file string
	env  Env
	errs Errors
	// static are the server entries with a static credential not marked
	// public_credential, which the pre-call page must not hand out.
	static []staticEntry
}

// staticEntry is a server entry of the list at list ("servers" or
// "precall.servers") that holds a static credential.
type staticEntry struct {
	list, field string
	node        *yaml.Node
}

func (p *configParser) errorf(n *yaml.Node, field, format string, args ...any) {
	// What the parsers say ("give the bearer token ({option:whip_token})")
	// is said in the file's words.
	e := &Error{File: p.file, Field: field, Msg: Words(ConfigWords).Say(fmt.Sprintf(format, args...))}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// yamlError locates a syntax error from the YAML library.
func (p *configParser) yamlError(err error) *Error {
	msg := err.Error()
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: p.file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: p.file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// fields walks a mapping, rejecting unknown and repeated keys, and calls
// each handler with the value node.
func (p *configParser) fields(n *yaml.Node, field string, handlers map[string]func(key, val *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping (key: value), got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		switch {
		case !ok && field == "" && strings.HasPrefix(k.Value, "x-"):
			// Top-level x- keys hold anchors to reuse (as in Compose files).
		case !ok:
			p.errorf(k, join(field, k.Value), "unknown field %q (want one of: %s)", k.Value, strings.Join(slices.Sorted(maps.Keys(handlers)), ", "))
		case seen[k.Value]:
			p.errorf(k, join(field, k.Value), "repeated field %q", k.Value)
		default:
			seen[k.Value] = true
			h(k, v)
		}
	}
}

func (p *configParser) top(n *yaml.Node, cfg *Config) {
	handlers := map[string]func(k, v *yaml.Node){
		"version": func(k, v *yaml.Node) {
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				p.errorf(v, "version", "unsupported config version %q (want 1)", v.Value)
			}
		},
		"servers":    func(k, v *yaml.Node) { p.servers(v, cfg) },
		"whip":       func(k, v *yaml.Node) { cfg.WHIP = p.endpoint(v, "whip") },
		"whep":       func(k, v *yaml.Node) { cfg.WHEP = p.endpoint(v, "whep") },
		"checks":     func(k, v *yaml.Node) { cfg.Checks = p.patterns(v, "checks") },
		"profile":    func(k, v *yaml.Node) { cfg.Profile = p.str(v, "profile") },
		"options":    func(k, v *yaml.Node) { cfg.Options = append(cfg.Options, p.options(v, "options")...) },
		"thresholds": func(k, v *yaml.Node) { cfg.Thresholds = p.thresholds(v, "thresholds") },
		"profiles":   func(k, v *yaml.Node) { cfg.Profiles = p.profiles(v) },
		"modules":    func(k, v *yaml.Node) { cfg.Modules = p.modules(v) },
		"precall":    func(k, v *yaml.Node) { cfg.Precall = p.precall(k, v) },
	}
	p.topLevelOptions(handlers, "", &cfg.Options)
	p.fields(n, "", handlers)
	p.pageCredentials(cfg)
	if pc := cfg.Precall; pc != nil && pc.Profile != "" {
		if _, ok := cfg.Profiles[pc.Profile]; !ok && BuiltinProfile(pc.Profile) == nil {
			p.errorf(valueNode(valueNode(n, "precall"), "profile"), "precall.profile", "unknown profile %q (want one of: %s)", pc.Profile, strings.Join(profileNames(cfg), ", "))
		}
	}
	if cfg.Profile != "" {
		if _, ok := cfg.Profiles[cfg.Profile]; !ok && BuiltinProfile(cfg.Profile) == nil {
			p.errorf(valueNode(n, "profile"), "profile", "unknown profile %q (want one of: %s)", cfg.Profile, strings.Join(profileNames(cfg), ", "))
		}
	}
}

// topLevelOptions adds a handler for each option that sits at the top of
// a file or profile (timeout, fail_on, …), appending to layer.
func (p *configParser) topLevelOptions(handlers map[string]func(k, v *yaml.Node), field string, layer *Layer) {
	for _, o := range OptionTable() {
		if o.TopLevel {
			handlers[o.Key] = func(k, v *yaml.Node) {
				if a, ok := p.option(o, v, join(field, o.Key)); ok {
					*layer = append(*layer, a)
				}
			}
		}
	}
}

func (p *configParser) servers(n *yaml.Node, cfg *Config) {
	cfg.Servers = append(cfg.Servers, p.serverList(n, "servers")...)
}

// serverList reads a list of servers (as RTCIceServer) at field.
func (p *configParser) serverList(n *yaml.Node, at string) []probes.Server {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, at, "want a list of servers, got %s", kindName(n))
		return nil
	}
	var out []probes.Server
	for i, sn := range n.Content {
		field := fmt.Sprintf("%s[%d]", at, i)
		var (
			urls      []string
			urlNodes  []*yaml.Node
			scalarURL bool
		)
		handlers := map[string]func(k, v *yaml.Node){
			"urls": func(k, v *yaml.Node) {
				if v.Kind == yaml.ScalarNode {
					urls, urlNodes = []string{p.expand(v, field+".urls")}, []*yaml.Node{v}
					scalarURL = true
					return
				}
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					p.errorf(v, field+".urls", "want a URI or a non-empty list of URIs")
					return
				}
				for j, u := range v.Content {
					urls = append(urls, p.expand(u, fmt.Sprintf("%s.urls[%d]", field, j)))
					urlNodes = append(urlNodes, u)
				}
			},
		}
		creds := p.credentialFields(handlers, field)
		var public bool
		var publicNode *yaml.Node
		handlers["public_credential"] = func(k, v *yaml.Node) {
			public, publicNode = p.boolean(v, field+".public_credential"), v
		}
		p.fields(sn, field, handlers)
		if sn.Kind != yaml.MappingNode {
			continue
		}
		if len(urlNodes) == 0 {
			p.errorf(sn, field, "missing urls (a stun:, stuns:, turn: or turns: URI)")
			continue
		}
		username, password, rest := creds.done(sn)
		static := rest == nil && (creds.hasPassword || username != "")
		switch {
		case publicNode != nil && !static:
			p.errorf(publicNode, field+".public_credential", "applies to a static credential (username and credential) only; this entry has none")
		case static && !public:
			p.static = append(p.static, staticEntry{list: at, field: field, node: sn})
		}
		for j, raw := range urls {
			ufield := fmt.Sprintf("%s.urls[%d]", field, j)
			if scalarURL {
				ufield = field + ".urls"
			}
			if strings.Contains(raw, "@") {
				// The URI may hold a password: never echo it.
				p.errorf(urlNodes[j], ufield, "credentials in the URI are not allowed; use username and credential")
				continue
			}
			s, err := probes.ParseServer(raw)
			if err != nil {
				p.errorf(urlNodes[j], ufield, "%v", err)
				continue
			}
			s.Username, s.Password, s.REST = username, password, rest
			s.PublicCredential = static && public
			out = append(out, s)
		}
	}
	return out
}

// endpoint reads a WHIP/WHEP endpoint: url and an optional bearer token
// (a secret: ${VAR} in the file, never echoed).
func (p *configParser) endpoint(n *yaml.Node, field string) *probes.Endpoint {
	var (
		ep      probes.Endpoint
		urlNode *yaml.Node
	)
	p.fields(n, field, map[string]func(k, v *yaml.Node){
		"url": func(k, v *yaml.Node) {
			urlNode = v
			raw := p.secret(v, field+".url")
			if raw == "" {
				return
			}
			u, err := probes.ParseEndpoint(raw)
			if err != nil {
				p.errorf(v, field+".url", "%v", err)
				return
			}
			ep.URL = u
		},
		"token": func(k, v *yaml.Node) { ep.Token = p.secret(v, field+".token") },
	})
	if n.Kind == yaml.MappingNode && urlNode == nil {
		p.errorf(n, field, "missing url (the http:// or https:// %s endpoint)", strings.ToUpper(field))
	}
	if ep.URL == nil {
		return nil
	}
	return &ep
}

// credentials are a server's or a module's TURN credentials as written:
// username and credential (or password), or a TURN REST secret with an
// optional user and ttl.
type credentials struct {
	p                        *configParser
	field                    string
	username, password, user string
	secret                   string
	ttl                      time.Duration
	hasPassword, hasSecret   bool
}

// credentialFields adds the credential keys to handlers.
func (p *configParser) credentialFields(handlers map[string]func(k, v *yaml.Node), field string) *credentials {
	c := &credentials{p: p, field: field, ttl: DefaultCredentialTTL}
	handlers["username"] = func(k, v *yaml.Node) { c.username = p.expand(v, field+".username") }
	handlers["credential"] = func(k, v *yaml.Node) { c.password, c.hasPassword = p.secret(v, field+".credential"), true }
	handlers["password"] = func(k, v *yaml.Node) { c.password, c.hasPassword = p.secret(v, field+".password"), true }
	handlers["secret"] = func(k, v *yaml.Node) { c.secret, c.hasSecret = p.secret(v, field+".secret"), true }
	handlers["ttl"] = func(k, v *yaml.Node) { c.ttl = p.ttl(v, field+".ttl") }
	handlers["user"] = func(k, v *yaml.Node) { c.user = p.expand(v, field+".user") }
	return c
}

// done checks what was read and returns either the long-term credential
// or the REST secret.
func (c *credentials) done(n *yaml.Node) (username, password string, rest *probes.RESTSecret) {
	if c.hasPassword && c.hasSecret {
		c.p.errorf(n, c.field, "give either credential/password or secret (TURN REST), not both")
	}
	if c.hasSecret {
		return "", "", &probes.RESTSecret{Secret: c.secret, User: cmp.Or(c.user, c.username), TTL: c.ttl}
	}
	return c.username, c.password, nil
}

var envRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([^}]*)\}`) })
var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// expand reads a scalar and replaces ${VAR} with the environment's value.
func (p *configParser) expand(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, got %s", kindName(n))
		return ""
	}
	return p.expandRefs(n, field, false)
}

// expandRefs replaces each ${VAR} in n's value; a bad reference inside a
// secret is reported without its text, which is part of the secret.
func (p *configParser) expandRefs(n *yaml.Node, field string, secret bool) string {
	return envRef().ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if !envName().MatchString(name) {
			if secret {
				p.errorf(n, field, "invalid environment variable reference (want ${NAME})")
			} else {
				p.errorf(n, field, "invalid environment variable reference %q", ref)
			}
			return ""
		}
		v, ok := p.env.LookupEnv(name)
		if !ok {
			p.errorf(n, field, "environment variable %s is not set", name)
		}
		return v
	})
}

// secret is expand for credentials: the same, but a value that is not a
// string is reported without being echoed.
func (p *configParser) secret(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string")
		return ""
	}
	return p.expandRefs(n, field, true)
}

func (p *configParser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errorf(n, field, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

// ttl reads a TURN REST credential lifetime.
func (p *configParser) ttl(n *yaml.Node, field string) time.Duration {
	d, err := ParseCredentialTTL(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errorf(n, field, "invalid duration %q (%s)", n.Value, errCredentialTTL)
		return 0
	}
	return d
}

// DefaultCredentialTTL is the lifetime of TURN REST credentials when none
// is given.
const DefaultCredentialTTL = 24 * time.Hour

// The one range of a TURN REST credential's lifetime: a server's ttl in a
// config file and --turn-ttl both read it with ParseCredentialTTL.
const (
	minCredentialTTL = time.Second
	maxCredentialTTL = 30 * 24 * time.Hour
)

var errCredentialTTL = fmt.Errorf("want a duration from %s to %s, like 1h", formatDuration(minCredentialTTL), formatDuration(maxCredentialTTL))

// ParseCredentialTTL reads a TURN REST credential lifetime; the error says
// the range.
func ParseCredentialTTL(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil || d < minCredentialTTL || d > maxCredentialTTL {
		return 0, errCredentialTTL
	}
	return d, nil
}

// patterns reads a list of check patterns (or one) and rejects those
// that are malformed or select no check.
func (p *configParser) patterns(n *yaml.Node, field string) []Pattern {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []Pattern
	for i, it := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		s := p.str(it, f)
		if s == "" {
			continue
		}
		pat, err := ParsePattern(p.env.Catalog, s)
		if err != nil {
			p.errorf(it, f, "%v", err)
			continue
		}
		out = append(out, pat)
	}
	return out
}

// thresholds reads "pattern: {warn: [...], fail: [...]}"; a pattern must
// match a check and a metric must be one a matched check reports.
func (p *configParser) thresholds(n *yaml.Node, field string) []ThresholdRule {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of check ID to warn/fail thresholds, got %s", kindName(n))
		return nil
	}
	var rules []ThresholdRule
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		pat := k.Value
		rf := join(field, pat)
		if seen[pat] {
			p.errorf(k, rf, "repeated check %q", pat)
			continue
		}
		seen[pat] = true
		pattern, err := ParsePattern(p.env.Catalog, pat)
		if err != nil {
			p.errorf(k, rf, "%v", err)
			continue
		}
		matched := matching(p.env.Catalog, []Pattern{pattern})
		rule := ThresholdRule{Pattern: pattern}
		for _, level := range []result.Status{result.Warn, result.Fail} {
			lv := valueNode(v, string(level))
			if lv == nil {
				continue
			}
			items := []*yaml.Node{lv}
			if lv.Kind == yaml.SequenceNode {
				items = lv.Content
			}
			for j, it := range items {
				tf := join(rf, string(level))
				if lv.Kind == yaml.SequenceNode {
					tf = fmt.Sprintf("%s[%d]", tf, j)
				}
				if it.Kind != yaml.ScalarNode {
					p.errorf(it, tf, "want a threshold like \"loss_pct < 1\", got %s", kindName(it))
					continue
				}
				t, err := result.ParseThreshold(level, it.Value)
				var te *result.ThresholdError
				if errors.As(err, &te) {
					te.Where = "checks." + pat
				}
				if err != nil {
					p.errorf(it, tf, "%v", err)
					continue
				}
				if !reportedByAny(matched, t.Metric) {
					p.errorf(it, tf, "metric %q is not reported by %s (metrics: %s)", t.Metric, pat, strings.Join(metricsOf(matched), ", "))
					continue
				}
				t.Reason = fmt.Sprintf("set in %s:%d", p.file, it.Line)
				rule.Thresholds = append(rule.Thresholds, t)
			}
		}
		// Reject anything besides warn and fail.
		p.fields(v, rf, map[string]func(k, v *yaml.Node){"warn": func(k, v *yaml.Node) {}, "fail": func(k, v *yaml.Node) {}})
		rules = append(rules, rule)
	}
	return rules
}

func (p *configParser) profiles(n *yaml.Node) map[string]*Profile {
	out := map[string]*Profile{}
	p.named(n, "profile", func(name, field string, k, v *yaml.Node) {
		pr := &Profile{Name: name}
		p.fields(v, field, p.profileFields(pr, field))
		if len(pr.Include) == 0 {
			pr.Include = []Pattern{"*"}
		}
		out[name] = pr
	})
	return out
}

// named walks a mapping of names (profiles, modules) to definitions,
// rejecting bad and repeated names, and calls each with the definition.
func (p *configParser) named(n *yaml.Node, kind string, each func(name, field string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, kind+"s", "want a mapping of %s name to %s, got %s", kind, kind, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := join(kind+"s", k.Value)
		if !validProfileName(k.Value) {
			p.errorf(k, field, "invalid %s name %q (want lower-case letters, digits, - and _)", kind, k.Value)
			continue
		}
		if seen[k.Value] {
			p.errorf(k, field, "repeated %s %q", kind, k.Value)
			continue
		}
		seen[k.Value] = true
		each(k.Value, field, k, v)
	}
}

// profileFields are the keys of a profile, which a module has too.
func (p *configParser) profileFields(pr *Profile, field string) map[string]func(k, v *yaml.Node) {
	handlers := map[string]func(k, v *yaml.Node){
		"description": func(k, v *yaml.Node) { pr.Description = p.str(v, field+".description") },
		"checks":      func(k, v *yaml.Node) { pr.Include = p.patterns(v, field+".checks") },
		"exclude":     func(k, v *yaml.Node) { pr.Exclude = p.patterns(v, field+".exclude") },
		"thresholds":  func(k, v *yaml.Node) { pr.Thresholds = p.thresholds(v, field+".thresholds") },
		"options":     func(k, v *yaml.Node) { pr.Options = append(pr.Options, p.options(v, field+".options")...) },
	}
	p.topLevelOptions(handlers, field, &pr.Options)
	return handlers
}

// modules reads the modules `rtcprobe serve` probes with: each a profile
// plus credentials, an allow-list of targets and a concurrency limit.
func (p *configParser) modules(n *yaml.Node) map[string]*Module {
	out := map[string]*Module{}
	p.named(n, "module", func(name, field string, k, v *yaml.Node) {
		m := &Module{Profile: Profile{Name: name}, Where: fmt.Sprintf("%s:%d", p.file, k.Line)}
		handlers := p.profileFields(&m.Profile, field)
		var creds *credentials
		var credNode *yaml.Node
		handlers["credentials"] = func(k, v *yaml.Node) {
			credNode = v
			ch := map[string]func(k, v *yaml.Node){}
			creds = p.credentialFields(ch, field+".credentials")
			p.fields(v, field+".credentials", ch)
		}
		allowed := false
		handlers["allowed_targets"] = func(k, v *yaml.Node) {
			allowed = true
			m.AllowedTargets = p.allowRules(v, field+".allowed_targets")
		}
		handlers["max_concurrent"] = func(k, v *yaml.Node) {
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 || n > 10000 {
				p.errorf(v, field+".max_concurrent", "invalid value %s (want a whole number from 1 to 10000)", kindName(v))
				return
			}
			m.MaxConcurrent = n
		}
		p.fields(v, field, handlers)
		if v.Kind != yaml.MappingNode {
			return
		}
		if len(m.Include) == 0 {
			p.errorf(v, field, "missing checks (a module names the checks it runs, e.g. checks: [turn.udp])")
		}
		if !allowed {
			p.errorf(v, field, "missing allowed_targets (the hosts, CIDRs or URI patterns the module may probe; [\"*\"] allows any target)")
		}
		if creds != nil {
			m.Username, m.Password, m.REST = creds.done(credNode)
		}
		out[name] = m
	})
	return out
}

// allowRules reads an allowed_targets list.
func (p *configParser) allowRules(n *yaml.Node, field string) []AllowRule {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		got := kindName(n)
		if n.Kind == yaml.SequenceNode {
			got = "an empty list"
		}
		p.errorf(n, field, "want a non-empty list of hosts, CIDRs or URI patterns, got %s", got)
		return nil
	}
	var out []AllowRule
	for i, it := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		text := p.expand(it, f)
		if it.Kind != yaml.ScalarNode {
			continue
		}
		r, err := ParseAllowRule(text)
		switch {
		case err != nil && strings.Contains(text, "@"):
			// What precedes @ may be a password: never echo it.
			p.errorf(it, f, "invalid rule: %v", err)
			continue
		case err != nil:
			p.errorf(it, f, "invalid rule %q: %v", text, err)
			continue
		}
		out = append(out, r)
	}
	return out
}

// options reads "key: value" for the options that live under options:.
func (p *configParser) options(n *yaml.Node, field string) Layer {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of option to value, got %s", kindName(n))
		return nil
	}
	handlers := map[string]func(k, v *yaml.Node){}
	var layer Layer
	for _, o := range OptionTable() {
		if !o.TopLevel {
			handlers[o.Key] = func(k, v *yaml.Node) {
				if a, ok := p.option(o, v, join(field, o.Key)); ok {
					layer = append(layer, a)
				}
			}
		}
	}
	p.fields(n, field, handlers)
	return layer
}

// option reads one option's value: a scalar, or for list options a list
// of scalars (joined as the command line would write them). The option's
// own parser validates it, so a file and a flag accept the same values.
// A value that came from ${VAR} is not echoed: it may be a secret.
func (p *configParser) option(o *Option, n *yaml.Node, field string) (Assignment, bool) {
	var text string
	fromEnv := false
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		text, fromEnv = p.expandRefs(n, field, o.Secret), envRef().MatchString(n.Value)
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		parts := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				p.errorf(it, field, "want a value, got %s", kindName(it))
				return Assignment{}, false
			}
			parts = append(parts, p.expandRefs(it, field, o.Secret))
			fromEnv = fromEnv || envRef().MatchString(it.Value)
		}
		text = strings.Join(parts, ",")
	default:
		p.errorf(n, field, "want a value, got %s", kindName(n))
		return Assignment{}, false
	}
	var scratch Settings
	if err := o.Set(&scratch, text); err != nil {
		oe := err.(*OptionError)
		quoted := oe.Quoted()
		if fromEnv {
			quoted = " from the environment"
		}
		p.errorf(n, field, "invalid value%s (%s)", quoted, oe.Why)
		return Assignment{}, false
	}
	return Assignment{Option: o, Text: text, Source: fmt.Sprintf("%s:%d", p.file, n.Line)}, true
}

// reportedByAny reports whether a check of cs reports the metric.
func reportedByAny(cs []Entry, metric string) bool {
	for _, c := range cs {
		// A check that does not list its metrics cannot be validated.
		if len(c.Metrics) == 0 || slices.Contains(c.Metrics, metric) {
			return true
		}
	}
	return false
}

func metricsOf(cs []Entry) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		for _, m := range c.Metrics {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

func valueNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
