package main

import (
	"strings"
	"testing"
)

// rtcprobe -h names every subcommand run dispatches (issue #23, bug 7).
func TestHelpNamesEverySubcommand(t *testing.T) {
	res := rtcprobe(t, "-h")
	if res.code != exitOK {
		t.Fatalf("-h: exit %d", res.code)
	}
	for _, sub := range []string{"list", "validate", "firewall", "load", "serve"} {
		if !strings.Contains(res.stderr, "\n       rtcprobe "+sub+" ") {
			t.Errorf("-h does not name the subcommand %s:\n%s", sub, res.stderr)
		}
	}
}

// A bad flag to list or validate is one line naming it and pointing at
// -h, exit 2, not the whole usage (issue #23, bug 7); -h still prints the
// usage, exit 0.
func TestSubcommandBadFlagIsOneLine(t *testing.T) {
	for _, sub := range []string{"list", "validate"} {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--bogus"}, "-bogus"},
			{[]string{"--config"}, "-config"},
			{[]string{"--profile=ci", "-x"}, "-x"},
		} {
			res := rtcprobe(t, append([]string{sub}, tt.args...)...)
			lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
			if res.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tt.want) || !strings.HasSuffix(lines[0], "(see rtcprobe "+sub+" -h)") || res.stdout != "" {
				t.Errorf("%s %q: exit %d, stderr %q; want exit 2 and one line naming %s, ending \"(see rtcprobe %s -h)\"", sub, tt.args, res.code, res.stderr, tt.want, sub)
			}
		}
		res := rtcprobe(t, sub, "-h")
		if res.code != exitOK || !strings.Contains(res.stderr, "Usage: rtcprobe "+sub) || !strings.Contains(res.stderr, "-config FILE") {
			t.Errorf("%s -h: exit %d, stderr %q; want exit 0 and the usage", sub, res.code, res.stderr)
		}
	}
}
