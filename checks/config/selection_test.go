package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// TestSelection covers the one grammar every front end uses: IDs, groups,
// dotted prefixes, globs, * and lists, in catalogue order.
func TestSelection(t *testing.T) {
	tests := []struct {
		spec string
		want []string // IDs, or nil with wantErr
		err  string
	}{
		{spec: "stun", want: []string{"stun.udp", "stun.tcp", "stun.tls"}},
		{spec: "stun.tcp, stun.udp", want: []string{"stun.udp", "stun.tcp"}},
		{spec: "ice.*", want: []string{"ice.all", "ice.relay"}},
		{spec: "turn.?dp", want: []string{"turn.udp"}},
		{spec: "browser.getusermedia", want: []string{"browser.getusermedia.audio", "browser.getusermedia.video"}},
		{spec: "nat,stun.udp", want: []string{"stun.udp", "nat.behavior"}},
		{spec: "stun.udp,nope", err: `unknown check "nope"`},
		{spec: "stu", err: `unknown check "stu"`},
		{spec: "ice.[", err: `invalid check pattern "ice.["`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			ps, err := config.ParseSelection(checks.Entries(checks.Catalog()), tt.spec)
			if tt.err != "" {
				var pe *config.PatternError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a config.PatternError with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := checkIDs(checks.Select(checks.Catalog(), ps)); !slices.Equal(got, tt.want) {
				t.Errorf("selects %q, want %q", got, tt.want)
			}
		})
	}
	if got := checks.Select(checks.Catalog(), nil); len(got) != len(checks.Catalog()) {
		t.Errorf("no pattern selects %d checks, want all %d", len(got), len(checks.Catalog()))
	}
	star, err := config.ParseSelection(checks.Entries(checks.Catalog()), "*")
	optIn := 0
	for _, c := range checks.Catalog() {
		if c.OptIn {
			optIn++
			if got := checkIDs(checks.Select(checks.Catalog(), []config.Pattern{config.Pattern(c.Group())})); !slices.Contains(got, c.ID) {
				t.Errorf("group %s does not select opt-in check %s", c.Group(), c.ID)
			}
		}
	}
	if err != nil || optIn == 0 || len(checks.Select(checks.Catalog(), star)) != len(checks.Catalog())-optIn {
		t.Errorf("* selects %d checks (%v), want all but the %d opt-in ones", len(checks.Select(checks.Catalog(), star)), err, optIn)
	}
}

// A config file's checks list reads the same grammar as --checks: a glob
// and a dotted prefix both work there.
func TestConfigChecksUseTheGrammar(t *testing.T) {
	cfg, err := config.Parse("c.yml", []byte("checks: [\"ice.*\", browser.getusermedia]\n"), config.Env{Catalog: checks.Entries(checks.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	r, err := checks.Resolve(checks.Catalog(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ice.all", "ice.relay", "browser.getusermedia.audio", "browser.getusermedia.video"}
	if got := checkIDs(r.Checks); !slices.Equal(got, want) {
		t.Errorf("checks %q, want %q", got, want)
	}
}
