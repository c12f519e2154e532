package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestFirewallUsageErrors: bad --ports, --signaling and --proxy values
// exit 2 before anything is probed, naming the bad value.
func TestFirewallUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--ports", "3478,99999"}, `"99999"`},
		{[]string{"--ports", "443/sctp"}, `"443/sctp"`},
		{[]string{"firewall", "--ports", "x"}, `"x"`},
		{[]string{"--signaling", "https://signal.example.test/ws"}, `"https://signal.example.test/ws"`},
		{[]string{"--signaling", "wss://signal.example.test:0/ws"}, `invalid port "0"`},
		{[]string{"--proxy", "socks5://127.0.0.1:1080"}, `invalid --proxy: want http://HOST:PORT`},
		{[]string{"--proxy", "http://user:hunter2@127.0.0.1"}, `want http://HOST:PORT`},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		code := run(context.Background(), tt.args, io.Discard, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("rtcprobe %v: exit %d, stderr %q; want exit 2 naming %s", tt.args, code, stderr.String(), tt.want)
		}
		if strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("rtcprobe %v printed the proxy password: %q", tt.args, stderr.String())
		}
	}
}
