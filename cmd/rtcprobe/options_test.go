package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/engine"
)

// settingsOf runs the real command-line path (flags, config file, engine)
// up to the plan, without probing, and returns the settings in force.
func settingsOf(t *testing.T, args ...string) (config.Settings, error) {
	t.Helper()
	c, err := parseFlags(append(args, "--checks", "stun.udp", "stun:127.0.0.1:9"), io.Discard)
	if err != nil {
		return config.Settings{}, err
	}
	in, err := c.input()
	if err != nil {
		return config.Settings{}, err
	}
	r, err := engine.Prepare(in)
	if err != nil {
		return config.Settings{}, err
	}
	r.Close()
	return r.Plan.Settings, nil
}

// optionYAML sets o to v in a config file, at the top or under options:,
// inside a profile when profile is set.
func optionYAML(o *config.Option, v, profile string) string {
	indent := ""
	var b strings.Builder
	if profile != "" {
		fmt.Fprintf(&b, "profiles:\n  %s:\n", profile)
		indent = "    "
	}
	if o.TopLevel {
		fmt.Fprintf(&b, "%s%s: %s\n", indent, o.Key, strconv.Quote(v))
	} else {
		fmt.Fprintf(&b, "%soptions:\n%s  %s: %s\n", indent, indent, o.Key, strconv.Quote(v))
	}
	return b.String()
}

func flagArg(o *config.Option, v string) string { return "--" + o.Flag + "=" + v }

// TestEveryOptionLayers checks, for every option of the table, that a
// flag beats the config file, the config file beats a profile, a profile
// beats the default, and that the flag and the file refuse the same bad
// values, each naming the option its own way.
func TestEveryOptionLayers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	want := func(o *config.Option, v string) config.Settings {
		s, err := config.Layered(config.Layer{{Option: o, Text: v}})
		if err != nil {
			t.Fatal(err)
		}
		// The run deadline left to its default follows the run (several
		// browsers get longer), as the engine derives it.
		s.Timeout = s.RunTimeout(checks.Entries(checks.MustSelect(checks.Catalog(), "stun.udp")), o.Key == "timeout")
		return s
	}
	for _, o := range config.OptionTable() {
		t.Run(o.Key, func(t *testing.T) {
			if len(o.Valid) < 2 || len(o.Invalid) < 1 {
				t.Fatalf("option %s declares %d valid and %d invalid samples; want at least 2 and 1", o.Key, len(o.Valid), len(o.Invalid))
			}
			v1, v2 := o.Valid[0], o.Valid[1]
			if reflect.DeepEqual(want(o, v1), want(o, v2)) {
				t.Fatalf("samples %q and %q give the same settings", v1, v2)
			}
			file := write(o.Key+".yml", optionYAML(o, v1, ""))
			profile := write(o.Key+"-profile.yml", optionYAML(o, v1, "lab")+optionYAML(o, v2, ""))
			profileOnly := write(o.Key+"-profile-only.yml", optionYAML(o, v2, "lab"))
			cases := []struct {
				name string
				args []string
				want config.Settings
			}{
				{"the config file sets it", []string{"--config", file}, want(o, v1)},
				{"the config beats its profile", []string{"--config", profile, "--profile", "lab"}, want(o, v2)},
				{"a profile beats the default", []string{"--config", profileOnly, "--profile", "lab"}, want(o, v2)},
			}
			if o.Flag != "" {
				cases = append(cases,
					struct {
						name string
						args []string
						want config.Settings
					}{"a flag beats the config file", []string{"--config", file, flagArg(o, v2)}, want(o, v2)},
					struct {
						name string
						args []string
						want config.Settings
					}{"a flag before the config file still wins", []string{flagArg(o, v2), "--config", file}, want(o, v2)},
				)
			}
			for _, tc := range cases {
				got, err := settingsOf(t, tc.args...)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s (%q): settings\n%+v\nwant\n%+v", tc.name, tc.args, got, tc.want)
				}
			}
			for _, bad := range o.Invalid {
				if o.Flag != "" {
					_, err := settingsOf(t, flagArg(o, bad))
					if err == nil || !strings.Contains(err.Error(), "--"+o.Flag) {
						t.Errorf("--%s=%q: error %v, want one naming --%s", o.Flag, bad, err, o.Flag)
					}
				}
				cfg := write(o.Key+"-bad.yml", optionYAML(o, bad, ""))
				_, err := settingsOf(t, "--config", cfg)
				if err == nil || !strings.Contains(err.Error(), cfg+":") || !strings.Contains(err.Error(), o.ConfigPath()+": invalid value") {
					t.Errorf("%s: %q in a config: error %v, want file:line and %s", o.Key, bad, err, o.ConfigPath())
				}
				if o.Secret && err != nil && strings.Contains(err.Error(), bad) && bad != "" {
					t.Errorf("%s: the refused value of a secret option is echoed: %v", o.Key, err)
				}
			}
		})
	}
}

// The options table is the README's: its table lists every option with
// its flag, key and default.
func TestREADMEListsEveryOption(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := optionsMarkdown()
	if *updateREADME {
		start, end := strings.Index(string(readme), optionsBegin), strings.Index(string(readme), optionsEnd)
		if start < 0 || end < start {
			t.Fatalf("README lacks the %s … %s markers", optionsBegin, optionsEnd)
		}
		out := string(readme[:start+len(optionsBegin)]) + "\n" + table + string(readme[end:])
		if err := os.WriteFile("../../README.md", []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !strings.Contains(string(readme), optionsBegin+"\n"+table+optionsEnd) {
		t.Errorf("README's options table is not the table's (go test ./cmd/rtcprobe -run TestREADME -update-readme):\n%s", table)
	}
}

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's options table from the options table")

const (
	optionsBegin = "<!-- options table: generated by go test ./cmd/rtcprobe -run TestREADME -update-readme -->"
	optionsEnd   = "<!-- end of options table -->"
)

// optionsMarkdown renders the options table for the README.
func optionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Flag | Config key | Default | What it sets |\n|---|---|---|---|\n")
	for _, o := range config.OptionTable() {
		flag := ""
		if o.Flag != "" {
			flag = "`--" + o.Flag
			if !o.Bool {
				flag += " " + o.Arg
			}
			flag += "`"
		}
		def := ""
		if o.Default != "" && !(o.Bool && o.Default == "false") {
			def = "`" + o.Default + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", flag, o.ConfigPath(), def, strings.ReplaceAll(say(o.Help), "|", `\|`))
	}
	return b.String()
}
