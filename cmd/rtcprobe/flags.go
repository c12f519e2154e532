package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
)

// options are the parsed command line.
type options struct {
	checks       string
	jsonPath     string
	timeout      time.Duration
	checkTimeout time.Duration
	count        int
	concurrency  int
	user         string
	password     string
	noColor      bool
	showVersion  bool
	servers      []string
	ports        string
	signaling    []string
	proxy        string
	turnSecret   string
	turnTTL      time.Duration
	turnPackets  int
	caFile       string
	insecure     bool
	reportFlags
	// mediaDuration, statsPath and simulate drive the ice/media/
	// datachannel checks.
	mediaDuration time.Duration
	statsPath     string
	simulate      string
	// browser checks
	browserPath    string
	media          string
	headful        bool
	requireBrowser bool
}

// errHelp means -h was asked for: usage is printed, exit 0.
var errHelp = errors.New("help requested")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("rtcprobe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.checks, "checks", "", "run only these checks: IDs or groups, comma-separated (stun.udp,turn)")
	fs.StringVar(&o.jsonPath, "json", "", "write the JSON report to `FILE` (- for stdout, then no table)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "deadline for the whole run")
	fs.DurationVar(&o.checkTimeout, "check-timeout", 0, "deadline for each check (default: each check's own, e.g. 2s for STUN)")
	fs.IntVar(&o.count, "count", 5, "STUN Binding requests per check")
	fs.IntVar(&o.concurrency, "concurrency", 8, "checks run at once")
	fs.StringVar(&o.user, "user", "", "TURN username")
	fs.StringVar(&o.password, "password", "", "TURN password (or env RTCPROBE_TURN_PASSWORD)")
	fs.StringVar(&o.turnSecret, "turn-secret", "", "TURN REST shared secret (coturn use-auth-secret) to mint credentials from (or env RTCPROBE_TURN_SECRET)")
	fs.DurationVar(&o.turnTTL, "turn-ttl", 24*time.Hour, "lifetime of credentials minted from --turn-secret")
	fs.IntVar(&o.turnPackets, "turn-packets", 20, "relayed echo packets per TURN check")
	fs.StringVar(&o.caFile, "ca", "", "trust the CA certificates in PEM `FILE` for turns:/stuns: servers")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify TLS/DTLS certificates (testing only)")
	fs.BoolVar(&o.noColor, "no-color", false, "no colors (also when NO_COLOR is set)")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&o.ports, "ports", "", "firewall matrix: also try these `PORTS` on every server (3478,5349,443 or PORT/udp|tcp|tls)")
	fs.Func("signaling", "check this ws:// or wss:// signaling `URL` (repeatable)", func(v string) error {
		o.signaling = append(o.signaling, v)
		return nil
	})
	fs.StringVar(&o.proxy, "proxy", "", "HTTP proxy `URL` for WebSocket and TCP/TLS (CONNECT); default HTTPS_PROXY")
	o.register(fs)
	fs.DurationVar(&o.mediaDuration, "media-duration", 5*time.Second, "how long the media checks send audio/video")
	fs.StringVar(&o.statsPath, "stats", "", "write both peers' full WebRTC stats, sampled every second, to `FILE` (JSON lines)")
	fs.StringVar(&o.simulate, "simulate", "", "run the ice/media/datachannel checks over a simulated network, e.g. \"delay=40ms,jitter=5ms,loss=3%,nat=symmetric\" (keys: delay, jitter (uniform 0..J per packet), rate (e.g. 2mbit), loss, nat=none|full-cone|restricted|port-restricted|symmetric[/…], turn=on|off, seed)")
	fs.StringVar(&o.browserPath, "browser", "", "Chrome/Chromium binary for the browser checks (default: $RTCPROBE_BROWSER, then chromium, google-chrome… on PATH)")
	fs.StringVar(&o.media, "media", "fake", "browser capture devices: fake (synthetic camera and mic) or real (this machine's, for a pre-call check)")
	fs.BoolVar(&o.headful, "headful", false, "show the browser window")
	fs.BoolVar(&o.requireBrowser, "require-browser", false, "fail the browser checks when no browser is found (default: skip them)")
	fs.Usage = func() { usage(stderr, fs) }

	// Flags may follow server URIs: parse, take the positional, repeat.
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) { // Parse has printed the usage
				return nil, errHelp
			}
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		o.servers = append(o.servers, rest[0])
		rest = rest[1:]
	}
	if o.password == "" {
		o.password = os.Getenv("RTCPROBE_TURN_PASSWORD")
	}
	if o.turnSecret == "" {
		o.turnSecret = os.Getenv("RTCPROBE_TURN_SECRET")
	}
	if err := o.finish(fs); err != nil {
		return nil, err
	}
	switch {
	case o.timeout <= 0:
		return nil, fmt.Errorf("invalid --timeout %s: must be positive", o.timeout)
	case o.checkTimeout < 0:
		return nil, fmt.Errorf("invalid --check-timeout %s: must be positive", o.checkTimeout)
	case o.count < 1 || o.count > 1000:
		return nil, fmt.Errorf("invalid --count %d: want 1-1000", o.count)
	case o.mediaDuration < 500*time.Millisecond || o.mediaDuration > 5*time.Minute:
		return nil, fmt.Errorf("invalid --media-duration %s: want 500ms-5m", o.mediaDuration)
	case o.concurrency < 1:
		return nil, fmt.Errorf("invalid --concurrency %d: want at least 1", o.concurrency)
	case o.turnTTL <= 0:
		return nil, fmt.Errorf("invalid --turn-ttl %s: must be positive", o.turnTTL)
	case o.turnPackets < 1 || o.turnPackets > 1000:
		return nil, fmt.Errorf("invalid --turn-packets %d: want 1-1000", o.turnPackets)
	case o.turnSecret != "" && o.password != "":
		return nil, errors.New("--password (or RTCPROBE_TURN_PASSWORD) and --turn-secret (or RTCPROBE_TURN_SECRET) exclude each other: give one")
	case o.caFile != "" && o.insecure:
		return nil, errors.New("--ca and --insecure exclude each other: give one")
	}
	if _, err := browser.ParseMedia(o.media); err != nil {
		return nil, err
	}
	return o, nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: rtcprobe [flags] [stun:HOST[:PORT] | stuns:… | turn:HOST[:PORT][?transport=udp|tcp] | turns:…] …
       rtcprobe list [--config FILE] [--profile NAME]
       rtcprobe validate --config FILE [--profile NAME]
       rtcprobe firewall [flags] URI…   (= --profile firewall --ports 3478,5349,443)

With no server URIs, rtcprobe starts an embedded STUN/TURN server on 127.0.0.1
and checks it. Exit status: 0 pass (warnings allowed), 1 a check failed,
2 bad usage, 3 internal error.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
