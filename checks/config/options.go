package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Settings are a run's options: every field is declared once in the
// options table below, which the command line, config files, profiles,
// `rtcprobe list` and the README all read. What a run needs besides
// options (servers, trust roots, the browser, the stats sink) is not
// here and cannot be set from a file.
type Settings struct {
	Timeout        time.Duration
	CheckTimeout   time.Duration
	Concurrency    int
	FailOn         result.Status
	STUNCount      int
	TURNPackets    int
	TURNInterval   time.Duration
	TURNIPv6       bool
	MediaDuration  time.Duration
	FirewallPorts  []PortSpec
	Proxy          *url.URL
	WSProtocols    []string
	Simulate       *netsim.Spec
	BrowserPath    string
	Browsers       []string
	Media          media.Devices
	Headful        bool
	RequireBrowser bool
	Viewers        int
	BroadcastRamp  bool
	LoadCalls      int
	LoadDuration   time.Duration
	LoadInterval   time.Duration
	LoadPacketSize int
	LoadRamp       bool
	LoadShard      probes.Shard
	LoadStartAt    time.Time
	AuditWitnesses []probes.Witness
	AuditInternal  []netip.Prefix
	Repeat         int
	SoakDuration   time.Duration
	SoakInterval   time.Duration
}

// Option is one entry of the options table.
type Option struct {
	// Key is the name in a config file; TopLevel options sit at the top of
	// the file (and of a profile), the others under options:.
	Key      string
	TopLevel bool
	// Flag is the command-line name, without dashes.
	Flag string
	// Arg names the value in help text ("N", "DURATION"); empty for bools.
	Arg  string
	Help string
	// Default is the value in force when no layer sets one, as text.
	Default string
	// Bool options are switches on the command line.
	Bool bool
	// Secret options may hold credentials: their values are never echoed.
	Secret bool
	// Valid and Invalid are sample values: the option's own tests check
	// every option with them (precedence, validation), so an option added
	// to the table is tested without new test code.
	Valid, Invalid []string
	set            func(s *Settings, text string) error
}

// Set parses text and stores it in s; the error is an *OptionError.
func (o *Option) Set(s *Settings, text string) error {
	if err := o.set(s, text); err != nil {
		oe := &OptionError{Option: o, Value: text, Why: err.Error()}
		if e, ok := err.(*entryError); ok {
			oe.Entry, oe.Why = e.entry, e.why
		}
		return oe
	}
	return nil
}

// ConfigPath is where the option sits in a config file: "timeout" or
// "options.stun_count".
func (o *Option) ConfigPath() string {
	if o.TopLevel {
		return o.Key
	}
	return "options." + o.Key
}

// OptionError is a value an option refuses. Front ends name the option in
// their own words (--count, options.stun_count).
type OptionError struct {
	Option *Option
	// Value is the text given; Entry the bad part of a list, when it was
	// one entry.
	Value, Entry string
	Why          string
}

// Quoted is the refused value for a message: the bad entry if there is
// one, else the value, never a secret.
func (e *OptionError) Quoted() string {
	switch {
	case e.Option.Secret:
		return ""
	case e.Entry != "":
		return fmt.Sprintf(" entry %q", e.Entry)
	}
	return fmt.Sprintf(" %q", e.Value)
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("invalid %s%s: %s", e.Option.Key, e.Quoted(), e.Why)
}

// entryError is a parser's complaint about one entry of a list value.
type entryError struct{ entry, why string }

func (e *entryError) Error() string { return fmt.Sprintf("entry %q: %s", e.entry, e.why) }

// Assignment is one option set by one layer, with where it was set.
type Assignment struct {
	Option *Option
	Text   string
	// Source says where: "flag", "profile ci", "rtcprobe.yml:12".
	Source string
}

// Layer is the options one source sets: a profile, a config file, the
// command line. Layers apply in order; a later one wins.
type Layer []Assignment

// Apply sets the layer's options on s.
func (l Layer) Apply(s *Settings) error {
	for _, a := range l {
		if err := a.Option.Set(s, a.Text); err != nil {
			return err
		}
	}
	return nil
}

// Keys lists the keys the layer sets, in order.
func (l Layer) Keys() []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.Option.Key
	}
	return out
}

// DefaultSettings is every option at its default.
func DefaultSettings() Settings {
	var s Settings
	for _, o := range OptionTable() {
		if o.Default != "" {
			if err := o.Set(&s, o.Default); err != nil {
				panic(err) // a default the table itself refuses
			}
		}
	}
	return s
}

// Layered applies the layers in order on the defaults.
func Layered(layers ...Layer) (Settings, error) {
	s := DefaultSettings()
	for _, l := range layers {
		if err := l.Apply(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// LookupOption finds an option by config key.
func LookupOption(key string) *Option {
	for _, o := range OptionTable() {
		if o.Key == key {
			return o
		}
	}
	return nil
}

// OptionTable is every option of a run, in help order.
func OptionTable() []*Option { return optionTable }

var optionTable = []*Option{
	durationOption(&Option{Key: "timeout", TopLevel: true, Flag: "timeout", Default: "30s",
		Help: "deadline for the whole run (unless set: 2m when it drives several browsers or runs the interop checks)"}, time.Millisecond, 24*time.Hour, func(s *Settings) *time.Duration { return &s.Timeout }),
	durationOption(&Option{Key: "check_timeout", TopLevel: true, Flag: "check-timeout",
		Help: "deadline for each check (default: each check's own, e.g. 2s for STUN)"}, time.Millisecond, time.Hour,
		func(s *Settings) *time.Duration { return &s.CheckTimeout }),
	intOption(&Option{Key: "concurrency", TopLevel: true, Flag: "concurrency", Default: "8",
		Help: "checks run at once"}, 1, 256, func(s *Settings) *int { return &s.Concurrency }),
	textOption(&Option{Key: "fail_on", TopLevel: true, Flag: "fail-on", Arg: "STATUS", Default: "fail",
		Help:  "worst status that fails the run: fail, or warn (warnings fail too)",
		Valid: []string{"warn", "fail"}, Invalid: []string{"pass", ""}}, parseFailOn, func(s *Settings) *result.Status { return &s.FailOn }),
	intOption(&Option{Key: "stun_count", Flag: "count", Default: "5",
		Help: "STUN Binding requests per check"}, 1, 1000, func(s *Settings) *int { return &s.STUNCount }),
	intOption(&Option{Key: "turn_packets", Flag: "turn-packets", Default: "20",
		// Up to 200 s at 20 ms: enough packets to measure loss to within a
		// percentage point.
		Help: "relayed echo packets per TURN check"}, 1, 10000, func(s *Settings) *int { return &s.TURNPackets }),
	durationOption(&Option{Key: "turn_interval", Flag: "turn-interval", Default: "20ms",
		Help: "time between relayed echo packets (20ms is one audio frame; an exporter module may send them closer)"},
		time.Millisecond, time.Second, func(s *Settings) *time.Duration { return &s.TURNInterval }),
	boolOption(&Option{Key: "turn_ipv6", Flag: "turn-ipv6", Default: "true",
		Help: "the TURN checks also ask for an IPv6 relay (one more allocation; {option:turn_ipv6=false} leaves it out)"},
		func(s *Settings) *bool { return &s.TURNIPv6 }),
	durationOption(&Option{Key: "media_duration", Flag: "media-duration", Default: "5s",
		Help: "how long the media checks send audio/video"}, 500*time.Millisecond, 5*time.Minute,
		func(s *Settings) *time.Duration { return &s.MediaDuration }),
	textOption(&Option{Key: "firewall_ports", Flag: "ports", Arg: "PORTS",
		Help:  "firewall matrix: also try these ports on every server (3478,5349,443 or PORT/udp|tcp|tls)",
		Valid: []string{"3478", "443/tls,5349"}, Invalid: []string{"99999", "3478,,443", "+80", "443/quic"}},
		ParsePorts, func(s *Settings) *[]PortSpec { return &s.FirewallPorts }),
	textOption(&Option{Key: "proxy", Flag: "proxy", Arg: "URL", Secret: true,
		Help:  "HTTP proxy for WebSocket and TCP/TLS (CONNECT); default HTTPS_PROXY",
		Valid: []string{"http://127.0.0.1:3128", "http://user:pw@127.0.0.1:8080"}, Invalid: []string{"socks5://127.0.0.1:1080", "http://127.0.0.1:99999", "http://127.0.0.1"}},
		probes.ParseProxy,
		func(s *Settings) **url.URL { return &s.Proxy }),
	textOption(&Option{Key: "ws_protocol", Flag: "ws-protocol", Arg: "LIST",
		Help:  "WebSocket subprotocols the signaling check offers (Sec-WebSocket-Protocol), comma-separated, e.g. janus-protocol; the server must choose one",
		Valid: []string{"janus-protocol", "echo-protocol, chat"}, Invalid: []string{"", "a b", "chat,,x", "chat,chat"}},
		probes.ParseWSProtocols, func(s *Settings) *[]string { return &s.WSProtocols }),
	textOption(&Option{Key: "simulate", Flag: "simulate", Arg: "SPEC",
		Help: "run the ice/media/datachannel checks over a simulated network, e.g. \"delay=40ms,jitter=5ms,loss=3%,nat=symmetric\" " +
			"(keys: delay, jitter (uniform 0..J per packet), rate (e.g. 2mbit), loss, nat=none|full-cone|restricted|port-restricted|symmetric[/…], turn=on|off, seed)",
		Valid: []string{"delay=10ms", "loss=5%,nat=symmetric"}, Invalid: []string{"delay=forever", "nat=weird", ""}},
		func(t string) (*netsim.Spec, error) {
			spec, err := netsim.ParseSpec(t)
			return &spec, err
		}, func(s *Settings) **netsim.Spec { return &s.Simulate }),
	{Key: "browser", Flag: "browser", Arg: "BROWSER",
		Help:  "the browser for the browser checks: chromium, firefox or a binary's path (default: $RTCPROBE_BROWSER, then chromium, google-chrome… on PATH)",
		Valid: []string{"chromium", "firefox", "/usr/bin/chromium"}, Invalid: []string{""},
		set: func(s *Settings, t string) error {
			if t == "" {
				return errors.New("want chromium, firefox, or a browser's path")
			}
			s.BrowserPath, s.Browsers = t, nil
			return nil
		}},
	{Key: "browsers", Flag: "browsers", Arg: "LIST",
		Help:  "several browsers, each running every browser check (and calling the others in the interop checks): chromium,firefox or paths",
		Valid: []string{"chromium,firefox", "firefox"}, Invalid: []string{"", "chromium,,firefox", "chromium,chromium"},
		set: func(s *Settings, t string) error {
			list, err := parseBrowsers(t)
			if err != nil {
				return err
			}
			s.Browsers, s.BrowserPath = list, ""
			return nil
		}},
	textOption(&Option{Key: "media", Flag: "media", Arg: "DEVICES", Default: "fake",
		Help:  "browser capture devices: fake (synthetic camera and mic) or real (this machine's, for a pre-call check)",
		Valid: []string{"fake", "real"}, Invalid: []string{"webcam"}},
		media.ParseDevices, func(s *Settings) *media.Devices { return &s.Media }),
	boolOption(&Option{Key: "headful", Flag: "headful", Help: "show the browser window"},
		func(s *Settings) *bool { return &s.Headful }),
	boolOption(&Option{Key: "require_browser", Flag: "require-browser",
		Help: "fail the browser checks when no browser is found (default: skip them)"},
		func(s *Settings) *bool { return &s.RequireBrowser }),
	intOption(&Option{Key: "viewers", Flag: "viewers", Default: "10",
		Help: "viewers playing at once in the broadcast check"}, 1, 500, func(s *Settings) *int { return &s.Viewers }),
	boolOption(&Option{Key: "broadcast_ramp", Flag: "broadcast-ramp",
		Help: "the broadcast check adds viewers step by step (1, 2, 4, … up to {option:viewers}) and reports the most that held the thresholds"},
		func(s *Settings) *bool { return &s.BroadcastRamp }),
	intOption(&Option{Key: "load_calls", Flag: "calls", Default: "50",
		Help: "TURN load: relayed calls at once (two allocations each; the most a ramp tries)"}, 1, probes.MaxLoadCalls, func(s *Settings) *int { return &s.LoadCalls }),
	durationOption(&Option{Key: "load_duration", Flag: "load-duration", Default: "10s",
		// Below the 5 minutes a TURN permission lasts, so no refresh is
		// needed while the calls send.
		Help: "TURN load: how long the calls of each step send"}, time.Second, 4*time.Minute,
		func(s *Settings) *time.Duration { return &s.LoadDuration }),
	durationOption(&Option{Key: "load_interval", Flag: "load-interval", Default: "20ms",
		Help: "TURN load: time between a call's packets each way (20ms is one audio frame)"}, 5*time.Millisecond, time.Second,
		func(s *Settings) *time.Duration { return &s.LoadInterval }),
	intOption(&Option{Key: "load_packet_size", Flag: "packet-size", Default: "120",
		Help: "TURN load: relayed payload bytes (120 an Opus frame with its RTP header, 1200 a video packet)"}, 20, 1400,
		func(s *Settings) *int { return &s.LoadPacketSize }),
	boolOption(&Option{Key: "load_ramp", Flag: "ramp",
		Help: "TURN load: ramp up (10, 20, 40, … up to {option:load_calls}) and report the most calls that held the thresholds (calls_held)"},
		func(s *Settings) *bool { return &s.LoadRamp }),
	textOption(&Option{Key: "load_shard", Flag: "shard", Arg: "I/N",
		Help:  "TURN load from N machines: this one runs its share I (0 to N-1) of every step's calls, the N shares adding up to {option:load_calls}, all from one {option:load_start_at}; rtcprobe merge joins their reports (N up to 1000)",
		Valid: []string{"0/1", "2/3", "999/1000"}, Invalid: []string{"3/3", "-1/2", "0/0", "0/1001", "1", ""}},
		probes.ParseShard, func(s *Settings) *probes.Shard { return &s.LoadShard }),
	textOption(&Option{Key: "load_start_at", Flag: "start-at", Arg: "TIME",
		Help:  "TURN load: wait until this RFC 3339 time (at most 1h ahead; one past starts at once) so the steps of every shard line up",
		Valid: []string{"2020-01-02T03:04:05Z", "2020-01-02T03:04:05.5+01:00"}, Invalid: []string{"2999-01-01T00:00:00Z", "tomorrow", "2020-01-02 03:04:05"}},
		ParseStartAt, func(s *Settings) *time.Time { return &s.LoadStartAt }),
	textOption(&Option{Key: "audit_witness", Flag: "witness", Arg: "LIST",
		Help:  "TURN audit: listeners of yours (rtcprobe witness) where a marker sent through the relay proves arrival: udp:HOST:PORT or tcp:HOST:PORT, comma-separated",
		Valid: []string{"udp:10.0.0.5:9999", "udp:127.0.0.1:7000,tcp:[fd00::5]:7000"}, Invalid: []string{"", "udp:10.0.0.5", "sctp:10.0.0.5:1", "udp:host.example:9"}},
		probes.ParseWitnesses, func(s *Settings) *[]probes.Witness { return &s.AuditWitnesses }),
	textOption(&Option{Key: "audit_internal", Flag: "internal", Arg: "LIST",
		Help:  "TURN audit: address ranges behind the server that relays must not reach, comma-separated (10.0.0.0/8,fd12::/48)",
		Valid: []string{"10.0.0.0/8", "10.20.0.0/16,fd12:3456::/48,192.0.2.7"}, Invalid: []string{"", "10.0.0.0/33", "intranet", "10.0.0.0/8,10.0.0.0/8"}},
		probes.ParseInternalRanges, func(s *Settings) *[]netip.Prefix { return &s.AuditInternal }),
	intOption(&Option{Key: "repeat", Flag: "repeat", Default: "1",
		Help: "run the checks this many times; the report gives pass rates, percentiles across runs and flapping"}, 1, 10000,
		func(s *Settings) *int { return &s.Repeat }),
	durationOption(&Option{Key: "soak_duration", Flag: "duration",
		Help: "soak: run the checks again and again for this long (with {option:soak_interval}); the report gives pass rates, percentiles and flapping"},
		time.Second, 7*24*time.Hour, func(s *Settings) *time.Duration { return &s.SoakDuration }),
	durationOption(&Option{Key: "soak_interval", Flag: "interval", Default: "0s",
		Help: "time from one repeated run's start to the next (0: back to back)"}, 0, 24*time.Hour,
		func(s *Settings) *time.Duration { return &s.SoakInterval }),
}

// parseBrowsers reads a comma-separated list of browsers, each named once.
func parseBrowsers(t string) ([]string, error) {
	if strings.TrimSpace(t) == "" {
		return nil, errors.New("want a list like chromium,firefox")
	}
	var out []string
	for _, b := range strings.Split(t, ",") {
		b = strings.TrimSpace(b)
		switch {
		case b == "":
			return nil, &entryError{entry: b, why: "empty entry"}
		case slices.Contains(out, b):
			return nil, &entryError{entry: b, why: "named twice"}
		}
		out = append(out, b)
	}
	return out, nil
}

// longRun is the run deadline in force, unless one is set, for a run that
// drives several browsers or makes the interop checks' calls.
const longRun = 2 * time.Minute

// RunTimeout is the deadline of a run of these checks with s, where set
// tells whether a layer set it: the default deadline is made for the
// default run.
func (s Settings) RunTimeout(selected []Entry, set bool) time.Duration {
	if set {
		return s.Timeout
	}
	long := len(s.BrowserList()) > 1
	for _, c := range selected {
		long = long || result.Group(c.ID) == "interop"
	}
	if long {
		return max(s.Timeout, longRun)
	}
	return s.Timeout
}

// Sets reports whether the layer sets the option with that key.
func (l Layer) Sets(key string) bool {
	return slices.Contains(l.Keys(), key)
}

// BrowserList is the browsers a run drives: --browsers, or the one
// --browser names ("" for the default).
func (s Settings) BrowserList() []string {
	if len(s.Browsers) > 0 {
		return s.Browsers
	}
	return []string{s.BrowserPath}
}

func parseFailOn(t string) (result.Status, error) {
	switch st := result.Status(t); st {
	case result.Warn, result.Fail:
		return st, nil
	}
	return "", fmt.Errorf("want warn or fail")
}

// textOption declares an option whose value parse reads.
func textOption[T any](o *Option, parse func(string) (T, error), field func(*Settings) *T) *Option {
	if o.Arg == "" {
		o.Arg = "VALUE"
	}
	o.set = func(s *Settings, t string) error {
		v, err := parse(t)
		if err != nil {
			return err
		}
		*field(s) = v
		return nil
	}
	return o
}

func intOption(o *Option, lo, hi int, field func(*Settings) *int) *Option {
	o.Arg = "N"
	o.Valid = []string{strconv.Itoa(lo), strconv.Itoa(hi)}
	o.Invalid = []string{strconv.Itoa(lo - 1), strconv.Itoa(hi + 1), "many"}
	o.Help += fmt.Sprintf(" (%d-%d)", lo, hi)
	return textOption(o, func(t string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return v, nil
	}, field)
}

func durationOption(o *Option, lo, hi time.Duration, field func(*Settings) *time.Duration) *Option {
	o.Arg = "DURATION"
	o.Valid = []string{lo.String(), hi.String()}
	o.Invalid = []string{(lo - 1).String(), (hi + time.Millisecond).String(), "soon"}
	o.Help += fmt.Sprintf(" (%s-%s)", formatDuration(lo), formatDuration(hi))
	return textOption(o, func(t string) (time.Duration, error) {
		d, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil || d < lo || d > hi {
			return 0, fmt.Errorf("want a duration from %s to %s, like 5s or 1m30s", formatDuration(lo), formatDuration(hi))
		}
		return d, nil
	}, field)
}

func boolOption(o *Option, field func(*Settings) *bool) *Option {
	o.Bool, o.Arg = true, ""
	if o.Default == "" {
		o.Default = "false"
	}
	o.Valid, o.Invalid = []string{"true", "false"}, []string{"maybe"}
	o.set = func(s *Settings, t string) error {
		v, err := strconv.ParseBool(t)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*field(s) = v
		return nil
	}
	return o
}

// formatDuration prints a duration without trailing zero units: 24h, 5m,
// 500ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"0m0s", "0s"} {
		if strings.HasSuffix(s, z) && len(s) > len(z) && strings.ContainsAny(s[:len(s)-len(z)], "hm") {
			s = strings.TrimSuffix(s, z)
		}
	}
	return s
}

// MaxStartAhead is how far ahead a load's start may be.
const MaxStartAhead = time.Hour

// ParseStartAt reads an RFC 3339 time no more than MaxStartAhead ahead.
func ParseStartAt(t string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(t))
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time, like 2026-05-04T12:00:00Z")
	}
	if time.Until(at) > MaxStartAhead {
		return time.Time{}, fmt.Errorf("more than %s ahead", formatDuration(MaxStartAhead))
	}
	return at, nil
}
