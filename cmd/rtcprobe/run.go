package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// run is the whole program with the process's I/O handed in, so tests can
// call it; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "list" {
		return listCommand(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "validate" {
		return validateCommand(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "firewall" {
		args = append(firewallProfile(), args[1:]...)
	}
	o, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "rtcprobe", version)
		return exitOK
	}
	plan, err := buildPlan(o)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitUsage
	}
	var trusted []*x509.Certificate
	if len(plan.Servers) == 0 {
		srv, err := embedded.Start(embedded.Config{})
		if err != nil {
			fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
			return exitInternal
		}
		defer srv.Close()
		plan.Servers = srv.Servers()
		plan.Options.NATServers = srv.NATServers()
		// Trust the embedded server's throw-away certificate, and only it,
		// in the probes and in the browser.
		plan.Options.TLS = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
		trusted = []*x509.Certificate{srv.Certificate()}
	}
	// The browser starts only if a browser check is selected, on first use.
	for _, c := range plan.Checks {
		if c.Group() == "browser" {
			plan.Options.Browser = browser.NewSession(browser.Config{Path: o.browserPath, Media: browser.Media(o.media),
				Headful: o.headful, TrustedCerts: trusted})
			defer plan.Options.Browser.Close()
			break
		}
	}

	if o.statsPath != "" {
		f, err := os.Create(o.statsPath)
		if err != nil {
			fmt.Fprintf(stderr, "rtcprobe: --stats: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		plan.Options.Stats = probes.NewStatsLog(f)
	}

	progress, onResult := startProgress(o, plan, stdout)
	started := time.Now()
	results := checks.Run(ctx, plan, onResult)
	if progress != nil {
		progress.Done()
	}
	if err := plan.Options.Stats.Err(); err != nil {
		fmt.Fprintf(stderr, "rtcprobe: --stats: %v\n", err)
		return exitInternal
	}
	rep := report.Report{Version: version, StartedAt: started, Duration: time.Since(started), Results: results,
		Environment: o.environment(results), FailOn: o.failOnStatus()}
	for _, s := range plan.Servers {
		rep.Servers = append(rep.Servers, s.String())
	}
	if err := writeReports(o, rep, stdout); err != nil {
		fmt.Fprintf(stderr, "rtcprobe: %v\n", err)
		return exitInternal
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Fprintln(stderr, "rtcprobe: interrupted")
	}
	return o.runExitCode(checks.Overall(results), stderr)
}

// buildPlan turns options into a plan; every error names the bad input.
func buildPlan(o *options) (*checks.Plan, error) {
	selected, err := checks.Select(checks.Catalog(), o.checks)
	if err != nil {
		return nil, err
	}
	plan := &checks.Plan{
		Checks:       selected,
		Timeout:      o.timeout,
		CheckTimeout: o.checkTimeout,
		Concurrency:  o.concurrency,
		Options:      checks.Options{STUNCount: o.count, TURNPackets: o.turnPackets, MediaDuration: o.mediaDuration, RequireBrowser: o.requireBrowser},
	}
	if plan.Options.TLS, err = tlsConfig(o); err != nil {
		return nil, err
	}
	ports, err := checks.ParsePorts(o.ports)
	if err != nil {
		return nil, err
	}
	plan.Options.FirewallPorts = ports
	for _, raw := range o.signaling {
		u, err := probes.ParseWebSocketURL(raw)
		if err != nil {
			return nil, fmt.Errorf("--signaling: %w", err)
		}
		plan.Options.SignalingURLs = append(plan.Options.SignalingURLs, u)
	}
	if o.proxy != "" {
		if plan.Options.Proxy, err = probes.ParseProxy(o.proxy); err != nil {
			return nil, err
		}
	}
	if o.simulate != "" {
		spec, err := netsim.ParseSpec(o.simulate)
		if err != nil {
			return nil, err
		}
		plan.Options.Simulate = &spec
	}
	for _, raw := range o.servers {
		s, err := probes.ParseServer(raw)
		if err != nil {
			return nil, err
		}
		s.Username, s.Password = o.user, o.password
		if err := turnCredentials(o, &s, time.Now()); err != nil {
			return nil, err
		}
		plan.Servers = append(plan.Servers, s)
	}
	if err := applyConfig(o, plan); err != nil {
		return nil, err
	}
	if o.ports != "" { // a flag beats the file
		plan.Options.FirewallPorts = ports
	}
	return plan, nil
}

func writeReports(o *options, rep report.Report, stdout io.Writer) error {
	if err := o.writeExtraReports(rep); err != nil {
		return err
	}
	if o.jsonPath == "-" {
		return report.WriteJSON(stdout, rep)
	}
	if o.jsonPath != "" {
		if err := writeFile(o.jsonPath, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
			return err
		}
	}
	return report.WriteTable(stdout, rep, report.TableOptions{Color: useColor(o, stdout)})
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// useColor: only on a terminal, never with NO_COLOR or --no-color.
func useColor(o *options, w io.Writer) bool {
	if o.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
