package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// cli is the parsed command line: the run's option layer (from the
// options table) and what only a command line has: servers and their
// credentials, trust settings, report outputs.
type cli struct {
	options   config.Layer
	selection string
	configFlags
	servers    []string
	user       string
	password   string
	turnSecret string
	turnTTL    time.Duration
	caFile     string
	insecure   bool
	signaling  []string
	media      mediaFlags
	outputs    outputFlags
	noColor    bool
	version    bool
	// given holds the flags given on the command line.
	given map[string]bool
}

// configFlags are --config and --profile, shared by every subcommand.
type configFlags struct {
	configPath string
	profile    string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "read servers, checks, options and thresholds from the YAML `FILE`")
	fs.StringVar(&c.profile, "profile", "", "run the profile `NAME`: ci, firewall, precall, or one the config defines (see rtcprobe list)")
}

// errHelp means -h was asked for: usage is printed, exit 0.
var errHelp = errors.New("help requested")

// errBadValue stands in for a flag value an option refused: the flag
// package would quote the value (a proxy password, say) in its own
// message, so the real error is kept aside (badValue) and reported instead.
var errBadValue = errors.New("bad value")

// registerOptions adds a flag for every option of the table; each value is
// validated by the option itself and recorded in the layer. A refused
// value is stored in *bad.
func registerOptions(fs *flag.FlagSet, layer *config.Layer, bad *error) {
	for _, o := range config.OptionTable() {
		if o.Flag == "" {
			continue
		}
		set := func(text string) error {
			var scratch config.Settings
			if err := o.Set(&scratch, text); err != nil {
				*bad = flagError(err)
				return errBadValue
			}
			*layer = append(*layer, config.Assignment{Option: o, Text: text, Source: "flag"})
			return nil
		}
		help := say(o.Help)
		if o.Default != "" && !o.Bool {
			help += fmt.Sprintf(" (default %s)", o.Default)
		}
		if o.Bool {
			fs.BoolFunc(o.Flag, help, set)
			continue
		}
		fs.Func(o.Flag, "`"+o.Arg+"`: "+help, set)
	}
}

// flagError words an option's refusal for the command line.
func flagError(err error) error {
	var oe *config.OptionError
	if errors.As(err, &oe) && oe.Option.Flag != "" {
		return fmt.Errorf("invalid --%s%s: %s", oe.Option.Flag, oe.Quoted(), oe.Why)
	}
	return err
}

func parseFlags(args []string, stderr io.Writer) (*cli, error) {
	c := &cli{}
	fs := flag.NewFlagSet("rtcprobe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var badValue error
	registerOptions(fs, &c.options, &badValue)
	c.configFlags.register(fs)
	c.outputs.register(fs)
	fs.StringVar(&c.selection, "checks", "", "run only these checks: IDs, groups, prefixes or globs, comma-separated (stun.udp,turn,\"ice.*\")")
	fs.StringVar(&c.user, "user", "", "TURN username")
	fs.StringVar(&c.password, "password", "", "TURN password (or env RTCPROBE_TURN_PASSWORD)")
	fs.StringVar(&c.turnSecret, "turn-secret", "", "TURN REST shared secret (coturn use-auth-secret) to mint credentials from (or env RTCPROBE_TURN_SECRET)")
	c.turnTTL = config.DefaultCredentialTTL
	fs.Func("turn-ttl", "`DURATION`: lifetime of credentials minted from --turn-secret (1s-720h) (default 24h)", func(v string) error {
		d, err := config.ParseCredentialTTL(v)
		if err != nil {
			badValue = fmt.Errorf("invalid --turn-ttl %q: %w", v, err)
			return errBadValue
		}
		c.turnTTL = d
		return nil
	})
	fs.StringVar(&c.caFile, "ca", "", "trust the CA certificates in PEM `FILE` for turns:/stuns:/wss: servers")
	fs.BoolVar(&c.insecure, "insecure", false, "do not verify TLS/DTLS certificates (testing only)")
	fs.Func("signaling", "check this ws:// or wss:// signaling `URL` (repeatable)", func(v string) error {
		c.signaling = append(c.signaling, v)
		return nil
	})
	c.media.register(fs)
	fs.BoolVar(&c.noColor, "no-color", false, "no colors (also when NO_COLOR is set)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	// A bad flag gets one line naming it, not the whole usage.
	fs.Usage = func() {}

	// Flags may follow server URIs: parse, take the positional, repeat.
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			switch {
			case errors.Is(err, flag.ErrHelp):
				usage(stderr, fs)
				return nil, errHelp
			case badValue != nil:
				return nil, badValue
			}
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		c.servers = append(c.servers, rest[0])
		rest = rest[1:]
	}
	c.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.given[f.Name] = true })
	if c.password == "" {
		c.password = os.Getenv("RTCPROBE_TURN_PASSWORD")
	}
	if c.turnSecret == "" {
		c.turnSecret = os.Getenv("RTCPROBE_TURN_SECRET")
	}
	c.media.fromEnv()
	switch {
	case c.turnSecret != "" && c.password != "":
		return nil, errors.New("--password (or RTCPROBE_TURN_PASSWORD) and --turn-secret (or RTCPROBE_TURN_SECRET) exclude each other: give one")
	case c.caFile != "" && c.insecure:
		return nil, errors.New("--ca and --insecure exclude each other: give one")
	case c.given["profile"] && c.profile == "":
		return nil, errors.New("invalid --profile \"\": want a profile name (see `rtcprobe list`)")
	case c.given["config"] && c.configPath == "":
		return nil, errors.New("invalid --config \"\": want a file name")
	}
	return c, c.outputs.check(c.given)
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: rtcprobe [flags] [stun:HOST[:PORT] | stuns:… | turn:HOST[:PORT][?transport=udp|tcp] | turns:…] …
       `+listSynopsis+`
       `+validateSynopsis+`
       rtcprobe firewall [flags] URI…   (= --profile firewall --ports 3478,5349,443)
       rtcprobe load [flags] turn:…   (= --profile load: TURN capacity, --calls N [--ramp] [--shard I/N --start-at TIME])
       `+mergeSynopsis+`
       rtcprobe audit [flags] turn:… --user U --password P   (= --profile audit: is this TURN server a door into the network behind it?)
       `+witnessSynopsis+`
       rtcprobe serve [--config FILE] [--listen ADDR] [--web-config FILE]   (Prometheus exporter; see rtcprobe serve -h)

With no server URIs and no --signaling URL, rtcprobe starts an embedded
STUN/TURN server on 127.0.0.1 and checks it. Exit status: 0 pass (warnings
allowed), 1 a check failed, 2 bad usage, 3 internal error, 130/143
interrupted (SIGINT/SIGTERM).

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
