package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/input"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// run is the whole program with the process's I/O handed in, so tests can
// call it; it returns the exit code. The work is the engine's: parse,
// layer, run, write, exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return listCommand(args[1:], stdout, stderr)
		case "validate":
			return validateCommand(args[1:], stdout, stderr)
		case "serve":
			return serveCommand(ctx, args[1:], stderr)
		case "firewall":
			args = append(firewallProfile(), args[1:]...)
		case "load":
			args = append([]string{"--profile", "load"}, args[1:]...)
		case "audit":
			args = append([]string{"--profile", "audit"}, args[1:]...)
		case "witness":
			return witnessCommand(ctx, args[1:], stdout, stderr)
		case "merge":
			return mergeCommand(args[1:], stdout, stderr)
		}
	}
	c, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %s\n", sayErr(err))
		return exitUsage
	}
	if c.version {
		fmt.Fprintln(stdout, "rtcprobe", version)
		return exitOK
	}
	in, err := c.input()
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %s\n", sayErr(err))
		return exitUsage
	}
	r, err := engine.Prepare(in)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %s\n", sayErr(flagError(err)))
		var se *engine.StartError
		if errors.As(err, &se) {
			return exitInternal
		}
		return exitUsage
	}
	defer r.Close()
	if err := shardsNeedStart(r.Plan); err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	sayStartAt(r.Plan, stderr)
	files, err := c.outputs.openOutputs(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	if sink := statsSink(files); sink != nil {
		r.LogStats(sink)
	}

	var rep report.Report
	if r.Repeats() {
		rep = r.ExecuteRepeated(ctx, nil, iterationProgress(c, stdout))
	} else {
		progress, onResult := startProgress(c, r, stdout)
		rep = r.Execute(ctx, onResult)
		if progress != nil {
			progress.Done()
		}
	}
	code := exitCode(c, r, rep, stderr)
	if err := r.StatsErr(); err != nil {
		fmt.Fprintf(stderr, "rtcprobe: --stats: %v\n", err)
		code = max(code, exitInternal)
	}
	werr := writeReports(files, rep)
	if !c.outputs.stdoutTaken() {
		werr = errors.Join(werr, report.WriteTable(stdout, rep, report.TableOptions{Color: useColor(c, stdout)}))
	}
	werr = errors.Join(werr, closeOutputs(files))
	if werr != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", werr)
		code = max(code, exitInternal)
	}
	if rep.Interrupted {
		fmt.Fprintln(stderr, "rtcprobe: interrupted; unfinished checks are marked interrupted")
		return interruptedCode(ctx)
	}
	return code
}

// input turns the command line into the engine's input; every error
// names the bad flag or argument.
func (c *cli) input() (engine.Input, error) {
	catalog := checks.Catalog()
	in := engine.Input{Catalog: catalog, Profile: c.profile, Options: c.options, Version: version, ConfigPath: c.configPath, Words: cliWords}
	var err error
	if c.configPath != "" {
		if in.Config, err = input.LoadConfig(c.configPath, catalog); err != nil {
			return in, err
		}
	}
	if in.Selection, err = config.ParseSelection(checks.Entries(catalog), c.selection); err != nil {
		return in, fmt.Errorf("--checks: %w", err)
	}
	for _, raw := range c.servers {
		s, err := probes.ParseServer(raw)
		if err != nil {
			return in, err
		}
		if err := c.credentials(&s); err != nil {
			return in, err
		}
		in.Servers = append(in.Servers, s)
	}
	for _, raw := range c.signaling {
		u, err := probes.ParseWebSocketURL(raw)
		if err != nil {
			return in, fmt.Errorf("--signaling: %w", err)
		}
		in.Signaling = append(in.Signaling, u)
	}
	if in.WHIP, in.WHEP, err = c.media.endpoints(); err != nil {
		return in, err
	}
	in.TLS, err = c.tlsConfig()
	return in, err
}

// exitCode maps the engine's outcome of a run that finished to the
// exit code, saying why when the table alone would not: fail-on warn
// turns warnings into exit 1 (the table shows only WARN), and a run in
// which every check skipped tested nothing.
func exitCode(c *cli, r *engine.Run, rep report.Report, stderr io.Writer) int {
	outcome := engine.OutcomeOf(rep)
	why := "--fail-on warn"
	if !c.given["fail-on"] {
		why = "fail_on: warn in the profile or config"
	}
	warnsFail := rep.Overall() == checks.Warn && checks.Warn.FailsRun(r.Plan.Settings.FailOn)
	switch {
	case outcome == engine.Failed && warnsFail:
		fmt.Fprintf(stderr, "rtcprobe: warnings fail this run (%s)\n", why)
	case outcome == engine.Passed && warnsFail:
		fmt.Fprintf(stderr, "rtcprobe: the warnings only say this machine's CPUs were saturated, which measures nothing about the network: they do not fail this run (%s)\n", why)
	case outcome == engine.NothingChecked:
		fmt.Fprintln(stderr, "rtcprobe: every check skipped: nothing was tested (see each check's reason)")
	}
	return outcomeExitCode(outcome)
}

// startProgress returns the runner's per-result callback: a line per
// finished check when stdout is a terminal and the table goes there; nil
// otherwise.
func startProgress(c *cli, r *engine.Run, stdout io.Writer) (*report.Progress, func(result.Result)) {
	if c.outputs.stdoutTaken() || !isTerminal(stdout) {
		return nil, nil
	}
	p := report.NewProgress(stdout, r.Total(), useColor(c, stdout))
	return p, p.Result
}

// iterationProgress prints a line per finished iteration of a repeated
// run when stdout is a terminal and the table goes there.
func iterationProgress(c *cli, stdout io.Writer) func(int, report.Report) {
	if c.outputs.stdoutTaken() || !isTerminal(stdout) {
		return nil
	}
	return func(i int, rep report.Report) {
		fmt.Fprintf(stdout, "iteration %d: %s\n", i, report.SummaryLine(rep))
	}
}

// useColor: only on a terminal, never with NO_COLOR or --no-color.
func useColor(c *cli, w io.Writer) bool {
	return !c.noColor && os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// interruptedCode is 128 + the signal's number, as shells report it.
func interruptedCode(ctx context.Context) int {
	var in interrupt
	if errors.As(context.Cause(ctx), &in) {
		return 128 + int(in.sig)
	}
	return 128 + 2 // SIGINT
}

// shardsNeedStart refuses a load run of one shard of several without
// --start-at: the shards' steps line up only from a common start, and it
// is what tells one run's reports from another's when they are merged.
func shardsNeedStart(p *checks.Plan) error {
	s := p.Settings
	if !s.LoadShard.Sharded() || !s.LoadStartAt.IsZero() || !slices.ContainsFunc(p.Checks, func(c *checks.Check) bool { return c.ID == "load.turn" }) {
		return nil
	}
	return fmt.Errorf("--shard %d/%d needs --start-at TIME, the same for every shard: their steps line up from it, and rtcprobe merge tells one run's reports from another's by it",
		s.LoadShard.Index, s.LoadShard.Count)
}

// sayStartAt tells, for a load run given --start-at, that it waits, or
// that the time has passed and it starts at once.
func sayStartAt(p *checks.Plan, stderr io.Writer) {
	at := p.Settings.LoadStartAt
	if at.IsZero() || !slices.ContainsFunc(p.Checks, func(c *checks.Check) bool { return c.ID == "load.turn" }) {
		return
	}
	if wait := time.Until(at); wait > 0 {
		fmt.Fprintf(stderr, "rtcprobe: waiting %s, until --start-at %s, to start the load\n", wait.Round(time.Second), at.UTC().Format(time.RFC3339))
		return
	}
	fmt.Fprintf(stderr, "rtcprobe: --start-at %s has passed: starting the load at once (the shards' steps may not line up)\n", at.UTC().Format(time.RFC3339))
}
