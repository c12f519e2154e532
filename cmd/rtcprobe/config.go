package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// reportFlags are the config, profile and report flags.
type reportFlags struct {
	configPath   string
	profile      string
	failOn       string
	junitPath    string
	htmlPath     string
	markdownPath string
	// set holds the flags given on the command line, which win over the
	// config file.
	set map[string]bool

	// Filled by applyConfig for the rest of the run.
	cfg      *checks.Config
	resolved *checks.Resolved
}

func (o *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.configPath, "config", "", "read servers, checks, options and thresholds from the YAML `FILE`")
	fs.StringVar(&o.profile, "profile", "", "run the profile `NAME`: ci, firewall, precall, or one the config defines (see rtcprobe list)")
	fs.StringVar(&o.failOn, "fail-on", "", "`STATUS` that fails the run: fail (default) or warn (warnings fail too)")
	fs.StringVar(&o.junitPath, "junit", "", "write a JUnit XML report to `FILE`")
	fs.StringVar(&o.htmlPath, "html", "", "write a self-contained HTML report with charts to `FILE`")
	fs.StringVar(&o.markdownPath, "markdown", "", "write a Markdown summary to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
}

// finish records which flags were given and checks the new ones.
func (o *reportFlags) finish(fs *flag.FlagSet) error {
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.failOn != "" && o.failOn != "warn" && o.failOn != "fail" {
		return fmt.Errorf("invalid --fail-on %q: want warn or fail", o.failOn)
	}
	if o.set["profile"] && o.profile == "" {
		return errors.New("invalid --profile \"\": want a profile name (see `rtcprobe list`)")
	}
	return nil
}

// applyConfig layers the profile and config file onto a plan built from
// the flags: checks are narrowed, thresholds and options replaced, and
// config settings used where no flag was given. The config's servers
// come before those named on the command line.
func applyConfig(o *options, plan *checks.Plan) error {
	catalog := checks.Catalog()
	if o.configPath != "" {
		cfg, err := loadConfig(o.configPath, catalog)
		if err != nil {
			return err
		}
		o.cfg = cfg
	}
	res, err := checks.Resolve(catalog, o.cfg, o.profile)
	if err != nil {
		return err
	}
	o.resolved = res
	plan.Checks = intersect(plan.Checks, res.Checks)
	if len(plan.Checks) == 0 {
		return fmt.Errorf("no check selected: --checks %q and the profile or config have none in common (see `rtcprobe list`)", o.checks)
	}
	plan.Thresholds = res.Thresholds
	res.ApplyOptions(o.cfg, &plan.Options)
	if o.set["count"] { // a flag beats the file
		plan.Options.STUNCount = o.count
	}
	if o.failOn == "" {
		o.failOn = string(res.FailOn)
	}
	if o.cfg == nil {
		return nil
	}
	cfg := o.cfg
	if cfg.Timeout > 0 && !o.set["timeout"] {
		plan.Timeout = cfg.Timeout
	}
	if cfg.CheckTimeout > 0 && !o.set["check-timeout"] {
		plan.CheckTimeout = cfg.CheckTimeout
	}
	if cfg.Concurrency > 0 && !o.set["concurrency"] {
		plan.Concurrency = cfg.Concurrency
	}
	plan.Servers = dedupe(append(append(plan.Servers[:0:0], cfg.Servers...), plan.Servers...))
	return nil
}

// dedupe drops a server named twice with the same credentials (in the
// config and on the command line): probing it twice tells nothing new.
func dedupe(servers []probes.Server) []probes.Server {
	type key struct{ uri, user, password string }
	seen := map[key]bool{}
	var out []probes.Server
	for _, s := range servers {
		k := key{s.String(), s.Username, s.Password}
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func intersect(a, b []*checks.Check) []*checks.Check {
	in := map[string]bool{}
	for _, c := range b {
		in[c.ID] = true
	}
	var out []*checks.Check
	for _, c := range a {
		if in[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// failOnStatus is the --fail-on (or profile/config) setting as a status.
func (o *reportFlags) failOnStatus() checks.Status {
	if o.failOn == "warn" {
		return checks.Warn
	}
	return checks.Fail
}

// runExitCode is exitCode with --fail-on warn turning warnings into exit
// 1, saying so, since the table alone shows only WARN.
func (o *reportFlags) runExitCode(overall checks.Status, stderr io.Writer) int {
	if overall == checks.Warn && overall.FailsRun(o.failOnStatus()) {
		why := "--fail-on warn"
		if !o.set["fail-on"] {
			why = "fail_on: warn in the profile or config"
		}
		fmt.Fprintf(stderr, "rtcprobe: warnings fail this run (%s)\n", why)
		return exitFail
	}
	return exitCode(overall)
}

// environment describes this run for the reports (no secrets: servers
// are listed by URI elsewhere, credentials never).
func (o *reportFlags) environment(results []checks.Result) report.Environment {
	env := report.Environment{OS: osDescription(), GoVersion: runtime.Version(), Config: o.configPath}
	if o.resolved != nil && o.resolved.Profile != nil {
		env.Profile = o.resolved.Profile.Name
	}
	// A browser check records the version it drove as evidence.
	for _, r := range results {
		for _, e := range r.Evidence {
			if e.Name == "browser_version" && env.Browser == "" {
				env.Browser = e.Value
			}
		}
	}
	return env
}

func osDescription() string {
	out := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out += " " + strings.TrimSpace(string(b))
	}
	return out + " (" + runtime.GOARCH + ")"
}

// writeExtraReports writes the JUnit, HTML and Markdown files asked for.
func (o *reportFlags) writeExtraReports(rep report.Report) error {
	for _, w := range []struct {
		path  string
		write func(io.Writer, report.Report) error
	}{
		{o.junitPath, report.WriteJUnit},
		{o.htmlPath, report.WriteHTML},
		{o.markdownPath, report.WriteMarkdown},
	} {
		if w.path == "" {
			continue
		}
		if err := writeFile(w.path, func(f io.Writer) error { return w.write(f, rep) }); err != nil {
			return err
		}
	}
	return nil
}

// progress returns the runner's per-result callback: a line per finished
// check when stdout is a terminal and the table goes there; nil otherwise.
func startProgress(o *options, plan *checks.Plan, stdout io.Writer) (*report.Progress, func(checks.Result)) {
	if o.jsonPath == "-" || !isTerminal(stdout) {
		return nil, nil
	}
	total := 0
	for _, c := range plan.Checks {
		total += len(c.Subjects(plan))
	}
	p := report.NewProgress(stdout, total, useColor(o, stdout))
	return p, p.Result
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// loadConfig reads and validates a config file against the catalogue;
// ${VAR} references are resolved from this process's environment.
func loadConfig(file string, catalog []*checks.Check) (*checks.Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return checks.ParseConfig(file, data, checks.ConfigEnv{Catalog: catalog, LookupEnv: os.LookupEnv, Now: time.Now()})
}
