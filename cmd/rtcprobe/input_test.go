package main

import (
	"strings"
	"testing"
)

// Bad input exits 2 naming the part that is wrong, and never echoes a
// password, a token or a fragment.
func TestBadInputNamesThePartNotTheSecret(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"stun:alice:S3cret@host"}, `invalid URI "stun:xxxxx@host": credentials in the URI`},
		{[]string{"turn:alice:S3cret@host?transport=udp"}, `"turn:xxxxx@host?transport=udp": credentials in the URI`},
		{[]string{"stun://alice:S3cret@host"}, `invalid URI "stun://xxxxx@host": unexpected "//"`},
		{[]string{"turn:host:3478?token=S3cret"}, `"turn:host:3478?token=…": invalid query`},
		{[]string{"stun:host:+80"}, `invalid port "+80"`},
		{[]string{"--signaling", "ws://h:abc/?token=S3cret"}, `--signaling: invalid URI "ws://h:abc/?token=…"`},
		{[]string{"--signaling", "ws://u:S3cret@h/?token=S3cret"}, `credentials in the URL`},
		{[]string{"--signaling", "wss://h/signal?token=S3cret#S3cret"}, `"wss://h/signal?token=…#…": a WebSocket URL has no #fragment`},
		{[]string{"--proxy", "http://u:S3cret@127.0.0.1:99999"}, `invalid --proxy: port must be 1-65535`},
		{[]string{"--ports", "3478,,443"}, `invalid --ports "3478,,443": empty entry`},
		{[]string{"--simulate", ""}, `invalid --simulate "": empty (want e.g.`},
		{[]string{"--simulate", "loss=NaN"}, `invalid --simulate "loss=NaN": invalid part "loss=NaN": loss must be between 0% and 100%`},
		// The library refers to the token; the command line names its flag.
		{[]string{"--whip", "https://u:S3cret@h/whip"}, `give the bearer token (--whip-token)`},
	}
	for _, tt := range tests {
		res := rtcprobe(t, tt.args...)
		if res.code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", tt.args, res.code, exitUsage, res.stdout)
		}
		if !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%q: stderr %q lacks %q", tt.args, res.stderr, tt.want)
		}
		if strings.Contains(res.stdout+res.stderr, "S3cret") {
			t.Errorf("%q: a secret was printed: %q", tt.args, res.stdout+res.stderr)
		}
	}
}
