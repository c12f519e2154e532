package probes

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		raw        string
		want       string // canonical String()
		transports []Transport
	}{
		{"stun:127.0.0.1", "stun:127.0.0.1:3478", []Transport{UDP, TCP}},
		{"stun:127.0.0.1:19302", "stun:127.0.0.1:19302", []Transport{UDP, TCP}},
		{"stun:stun.example.org", "stun:stun.example.org:3478", []Transport{UDP, TCP}},
		{"stuns:stun.example.org", "stuns:stun.example.org:5349", []Transport{TLS}},
		{"stun:[::1]:3478", "stun:[::1]:3478", []Transport{UDP, TCP}},
		{"stun:[::1]", "stun:[::1]:3478", []Transport{UDP, TCP}},
		{"turn:turn.example.org", "turn:turn.example.org:3478", []Transport{UDP, TCP}},
		{"turn:turn.example.org:443?transport=tcp", "turn:turn.example.org:443?transport=tcp", []Transport{TCP}},
		{"turn:127.0.0.1?transport=udp", "turn:127.0.0.1:3478?transport=udp", []Transport{UDP}},
		{"turns:turn.example.org:443", "turns:turn.example.org:443", []Transport{TLS}},
		{"turns:turn.example.org?transport=tcp", "turns:turn.example.org:5349?transport=tcp", []Transport{TLS}},
		{"turns:turn.example.org?transport=udp", "turns:turn.example.org:5349?transport=udp", []Transport{DTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			s, err := ParseServer(tt.raw)
			if err != nil {
				t.Fatalf("ParseServer(%q): %v", tt.raw, err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := s.Transports(); !slices.Equal(got, tt.transports) {
				t.Errorf("Transports() = %v, want %v", got, tt.transports)
			}
		})
	}
}

func TestParseServerRejects(t *testing.T) {
	tests := []struct{ raw, why string }{
		{"", "empty"},
		{"stun:", "missing host"},
		{"stun", "missing scheme"},
		{"turn:", "missing host"},
		{"http://example.org", "unknown scheme"},
		{"stun://127.0.0.1", `"//"`},
		{"stun:127.0.0.1:0", "invalid port"},
		{"stun:127.0.0.1:99999", "invalid port"},
		{"turn:host:99999", "invalid port"},
		{"stun:127.0.0.1:abc", "invalid port"},
		{"stun:127.0.0.1:", "missing port"},
		{"stun:127.0.0.1?transport=udp", "take no query"},
		{"stuns:127.0.0.1?x=1", "take no query"},
		{"turn:host?transport=sctp", "unsupported transport"},
		{"turn:host?foo=bar", "invalid query"},
		{"turn:user:pass@host", "credentials"},
		{"stun:::1", "brackets"},
		{"stun:[::1", "unterminated"},
		{"stun:[127.0.0.1]", "invalid IPv6"},
		{"stun:bad_host!", "invalid host"},
		{"stun:-bad.example", "invalid host"},
		{"stun:999.1.1.1", "invalid host"},
		{" stun:127.0.0.1", "spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := ParseServer(tt.raw)
			if err == nil {
				t.Fatalf("ParseServer(%q) accepted a bad URI", tt.raw)
			}
			var ue *URIError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not a *URIError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"`+RedactURI(tt.raw)+`"`) {
				t.Errorf("message %q does not name the input (without secrets)", msg)
			}
			if !strings.Contains(msg, tt.why) {
				t.Errorf("message %q does not say %q", msg, tt.why)
			}
		})
	}
}

func TestServerStringHidesCredentials(t *testing.T) {
	s, err := ParseServer("turn:127.0.0.1:3478")
	if err != nil {
		t.Fatal(err)
	}
	s.Username, s.Password = "alice", "s3cret-pass"
	if got := s.String(); strings.Contains(got, "alice") || strings.Contains(got, "s3cret") {
		t.Errorf("String() = %q leaks credentials", got)
	}
}

// FuzzParseServer: any input either parses into a server whose canonical
// form parses back to the same thing, or yields a *URIError; never a panic.
func FuzzParseServer(f *testing.F) {
	for _, seed := range []string{"stun:127.0.0.1", "turn:h:1?transport=tcp", "turns:[::1]:5349", "stun:", "turn:x?transport=sctp", "stun:a:b:c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := ParseServer(raw)
		if err != nil {
			var ue *URIError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseServer(%q) error %T is not a *URIError", raw, err)
			}
			return
		}
		again, err := ParseServer(s.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", s.String(), raw, err)
		}
		if again.String() != s.String() || !slices.Equal(again.Transports(), s.Transports()) {
			t.Fatalf("round trip changed %q: %q → %q", raw, s.String(), again.String())
		}
	})
}
