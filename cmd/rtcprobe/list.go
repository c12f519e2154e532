package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/input"
)

// listCommand prints every check with its description, metrics and the
// thresholds in force after the config and profile, so users see what
// will be judged before running anything.
func listCommand(args []string, stdout, stderr io.Writer) int {
	var o configFlags
	fs := flag.NewFlagSet("rtcprobe list", flag.ContinueOnError)
	o.register(fs)
	if code, ok := parseSubcommand(fs, listSynopsis, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rtcprobe list: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	catalog := checks.Catalog()
	cfg, rs, err := loadAndResolve(o.configPath, o.profile, catalog)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	writeList(stdout, catalog, cfg, rs)
	return exitOK
}

const (
	listSynopsis     = "rtcprobe list [--config FILE] [--profile NAME]"
	validateSynopsis = "rtcprobe validate --config FILE [--profile NAME]"
)

// parseSubcommand parses a subcommand's flags. -h prints its usage (exit
// 0); a bad flag is one line naming it and pointing at -h (exit 2), not the
// whole usage. ok is false when the command is to exit with code.
func parseSubcommand(fs *flag.FlagSet, synopsis string, args []string, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return exitOK, false
	}
	fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
	return exitUsage, false
}

// loadAndResolve reads the config file (the process's part) and resolves
// it through the engine, as a run would.
func loadAndResolve(path, profile string, catalog []*checks.Check) (*config.Config, *engine.Resolution, error) {
	var cfg *config.Config
	if path != "" {
		var err error
		if cfg, err = input.LoadConfig(path, catalog); err != nil {
			return nil, nil, err
		}
	}
	rs, err := engine.Resolve(engine.Input{Catalog: catalog, Config: cfg, Profile: profile})
	return cfg, rs, err
}

func writeList(w io.Writer, catalog []*checks.Check, cfg *config.Config, rs *engine.Resolution) {
	res := rs.Resolved
	var b strings.Builder
	switch {
	case res.Profile != nil:
		fmt.Fprintf(&b, "Profile %s: %s\n", res.Profile.Name, res.Profile.Description)
	default:
		b.WriteString("No profile: every check runs but the opt-in ones (they run when --checks, a profile or a config names them).\n")
	}
	if cfg != nil {
		fmt.Fprintf(&b, "Config %s applied.\n", cfg.File)
	}
	fmt.Fprintf(&b, "A run fails on: %s.\n", rs.Settings.FailOn)
	var set []string
	for _, layer := range res.Layers {
		for _, a := range layer {
			set = append(set, fmt.Sprintf("%s (%s)", a.Option.Key, a.Source))
		}
	}
	if len(set) > 0 {
		fmt.Fprintf(&b, "Options set: %s.\n", strings.Join(set, ", "))
	}
	b.WriteString("\n")
	selected := map[string]bool{}
	for _, c := range rs.Checks {
		selected[c.ID] = true
	}
	plan := &checks.Plan{Thresholds: res.Thresholds}
	for _, c := range catalog {
		fmt.Fprintf(&b, "%s  %s", c.ID, c.Title)
		switch {
		case !selected[c.ID] && c.OptIn && !res.Chosen:
			b.WriteString("  [opt-in: runs when --checks, a profile or a config names it]")
		case !selected[c.ID]:
			b.WriteString("  [not run: not selected by the profile or config]")
		}
		b.WriteString("\n")
		if c.Description != "" {
			fmt.Fprintf(&b, "    %s\n", say(c.Description))
		}
		if len(c.Metrics) > 0 {
			fmt.Fprintf(&b, "    metrics:    %s\n", c.MetricsText(func(name string) string { return name }))
		}
		ts := plan.ThresholdsFor(c)
		if len(ts) == 0 {
			b.WriteString("    thresholds: none (pass unless the probe fails)\n")
		}
		width := 0
		for _, t := range ts {
			width = max(width, len(t.String()))
		}
		for i, t := range ts {
			label := "thresholds:"
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(&b, "    %-11s %-4s unless %-*s  %s\n", label, t.Level, width, t.String(), t.Reason)
		}
		if c.Timeout > 0 {
			fmt.Fprintf(&b, "    timeout:    %s\n", c.Timeout)
		}
		b.WriteString("\n")
	}
	b.WriteString("Profiles (--profile NAME):\n")
	for _, p := range config.Profiles(cfg) {
		fmt.Fprintf(&b, "    %-9s %s\n", p.Name, p.Description)
	}
	b.WriteString("\nOptions (config key, command-line flag, default):\n")
	for _, o := range config.OptionTable() {
		flag := ""
		if o.Flag != "" {
			flag = "--" + o.Flag
		}
		fmt.Fprintf(&b, "    %-26s %-18s %-6s %s\n", o.ConfigPath(), flag, o.Default, say(o.Help))
	}
	_, _ = io.WriteString(w, b.String())
}

// validateCommand checks a config file without probing anything: exit 0
// and a summary when it is good, exit 2 and every problem (file:line:
// field: message) when not.
func validateCommand(args []string, stdout, stderr io.Writer) int {
	var o configFlags
	fs := flag.NewFlagSet("rtcprobe validate", flag.ContinueOnError)
	o.register(fs)
	if code, ok := parseSubcommand(fs, validateSynopsis, args, stderr); !ok {
		return code
	}
	if fs.NArg() == 1 && o.configPath == "" {
		o.configPath = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rtcprobe validate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if o.configPath == "" {
		fmt.Fprintln(stderr, "rtcprobe validate: missing --config FILE")
		return exitUsage
	}
	catalog := checks.Catalog()
	cfg, rs, err := loadAndResolve(o.configPath, o.profile, catalog)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	res := rs.Resolved
	profile := "none"
	if res.Profile != nil {
		profile = res.Profile.Name
	}
	var servers []string
	for _, s := range cfg.Servers {
		servers = append(servers, s.String())
	}
	fmt.Fprintf(stdout, "%s: valid — %s, %s (profile %s), thresholds changed for %s, fails on %s\n",
		cfg.File, plural(len(cfg.Servers), "server"), plural(len(res.Checks), "check"), profile, plural(len(res.Thresholds), "check"), rs.Settings.FailOn)
	for _, s := range servers {
		fmt.Fprintf(stdout, "    %s\n", s)
	}
	// Without a precall section the file may be a CLI run's: rtcprobe
	// serve's page then tests these servers but those with a static
	// credential, which it would hand to every visitor.
	if cfg.Precall == nil {
		for _, s := range cfg.Servers {
			if s.Static() && !s.PublicCredential {
				fmt.Fprintf(stdout, "    pre-call page (rtcprobe serve) leaves out %s: a static credential would go to every visitor (give a secret, or public_credential: true)\n", s)
			}
		}
	}
	// Modules (rtcprobe serve) resolve as profiles of their own.
	for _, name := range slices.Sorted(maps.Keys(cfg.Modules)) {
		m := cfg.Modules[name]
		mr, err := engine.Resolve(engine.Input{Catalog: catalog, Module: m})
		if err != nil {
			fmt.Fprintf(stderr, "rtcprobe: %s: modules.%s: %s\n", m.Where, name, config.Words(config.ModuleWords).Say(err.Error()))
			return exitUsage
		}
		fmt.Fprintf(stdout, "    module %s: %s, %s\n", name, plural(len(mr.Checks), "check"), plural(len(m.AllowedTargets), "allowed target rule"))
	}
	return exitOK
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
