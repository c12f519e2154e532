package probes_test

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/probes"
)

func TestRedactURI(t *testing.T) {
	for raw, want := range map[string]string{
		"stun:alice:S3cret@host":                      "stun:xxxxx@host",
		"turn:alice:S3cret@host:3478?transport=udp":   "turn:xxxxx@host:3478?transport=udp",
		"stun://alice:S3cret@host":                    "stun://xxxxx@host",
		"wss://u:S3cret@h/p@th?token=S3cret&x=&flag":  "wss://xxxxx@h/p@th?token=…&x=&…",
		"ws://h/?token=S3cret#S3cret":                 "ws://h/?token=…#…",
		"alice:S3cret@host":                           "alice:xxxxx@host",
		"turn:host?S3cret":                            "turn:host?…",
		"stun:stun.example.org:3478":                  "stun:stun.example.org:3478",
		"ws://h:abc/?token=S3cret":                    "ws://h:abc/?token=…",
		"http://u:S3cret@[::1]:3128/?a=S3cret#":       "http://xxxxx@[::1]:3128/?a=…#",
		"turns:turn.example.org:443?transport=tcp#xy": "turns:turn.example.org:443?transport=tcp#…",
	} {
		if got := probes.RedactURI(raw); got != want {
			t.Errorf("RedactURI(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Bad server URIs are named in the error with the wrong part, never with
// a password, a query value or a fragment.
func TestParseServerErrorsHideSecrets(t *testing.T) {
	for raw, part := range map[string]string{
		"stun:alice:S3cret@host":               "credentials in the URI",
		"turn:alice:S3cret@host?transport=udp": "credentials in the URI",
		"turns:S3cret@host":                    "credentials in the URI",
		"stun://alice:S3cret@host":             `unexpected "//"`,
		"turn:host?token=S3cret":               "invalid query",
		"turn:host:80?S3cret":                  "invalid query",
		"stun:host?token=S3cret":               "take no query",
		"stun:host:+80":                        `invalid port "+80"`,
		"stun:host:0x50":                       `invalid port "0x50"`,
	} {
		_, err := probes.ParseServer(raw)
		if err == nil {
			t.Errorf("ParseServer(%q) accepted it", raw)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "S3cret") || !strings.Contains(msg, part) || !strings.Contains(msg, "invalid URI") {
			t.Errorf("ParseServer(%q): %q, want it to name %q without the secret", raw, msg, part)
		}
	}
}

func TestParseWebSocketURLErrorsHideSecrets(t *testing.T) {
	for raw, part := range map[string]string{
		"ws://h:abc/?token=S3cret":          "invalid port",
		"ws://h /?token=S3cret":             "invalid character",
		"ws://%zz/?token=S3cret":            "invalid URL escape",
		"ws://u:S3cret@h/?token=S3cret":     "credentials in the URL",
		"ws://S3cret@h/":                    "credentials in the URL",
		"http://h/?token=S3cret#S3cret":     "want a ws:// or wss:// URL",
		"wss://h/signal?token=S3cret#frag":  "#fragment",
		"wss://h/signal?token=S3cret#":      "#fragment",
		"ws://h:99999/?token=S3cret":        "invalid port",
		"wss:///signal?token=S3cret&k=v#xx": "missing host",
	} {
		_, err := probes.ParseWebSocketURL(raw)
		if err == nil {
			t.Errorf("ParseWebSocketURL(%q) accepted it", raw)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "S3cret") || !strings.Contains(msg, part) {
			t.Errorf("ParseWebSocketURL(%q): %q, want it to name %q without the secret", raw, msg, part)
		}
	}
	u, err := probes.ParseWebSocketURL("wss://signal.example.test:8443/ws?token=S3cret&room=7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := probes.WebSocketName(u), "wss://signal.example.test:8443/ws?token=…&room=…"; got != want {
		t.Errorf("WebSocketName = %q, want %q", got, want)
	}
}

func TestParseProxyPortRange(t *testing.T) {
	for _, raw := range []string{"http://127.0.0.1:99999", "http://u:S3cret@127.0.0.1:65536", "http://127.0.0.1:0"} {
		_, err := probes.ParseProxy(raw)
		if err == nil || !strings.Contains(err.Error(), "1-65535") || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("ParseProxy(%q): %v, want the port range named without the password", raw, err)
		}
	}
}

// A password may hold '@': the userinfo ends at the authority's last
// '@', so no part of the password is shown.
func TestRedactURIPasswordWithAt(t *testing.T) {
	for raw, want := range map[string]string{
		"turn:alice:p@ss@host:3478?transport=udp": "turn:xxxxx@host:3478?transport=udp",
		"stun://alice:S3c@r@t@host":               "stun://xxxxx@host",
		"turns:@S3cret@host":                      "turns:xxxxx@host",
		"http://u:S3c@ret@proxy:3128/p@th":        "http://xxxxx@proxy:3128/p@th",
	} {
		got := probes.RedactURI(raw)
		if got != want || strings.Contains(got, "ss@") || strings.Contains(got, "r@t") || strings.Contains(got, "S3c") {
			t.Errorf("RedactURI(%q) = %q, want %q", raw, got, want)
		}
	}
}
