package precall

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// TestStaticCredentialStaysOffThePage: with the README's server entries
// at the top of the config (a static credential and a REST secret) and no
// precall section, a session hands out the REST server with credentials
// minted for it and leaves out the static one, whose password would go to
// every visitor; marked public_credential: true, it is handed out.
func TestStaticCredentialStaysOffThePage(t *testing.T) {
	const password = "static-pw-Zq81-never-shown"
	servers := `version: 1
servers:
  - urls: turn:127.0.0.1:3478
    username: alice
    credential: ` + password + `
  - urls: turn:127.0.0.2:3478
    secret: rest-secret-Kx77
`
	for _, tc := range []struct {
		name   string
		config string
		handed bool
	}{
		{"static", servers, false},
		{"public", strings.Replace(servers, "username: alice\n", "username: alice\n    public_credential: true\n", 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("p.yml", []byte(tc.config), config.Env{Catalog: checks.Entries(checks.Catalog())})
			if err != nil {
				t.Fatal(err)
			}
			f := startFixture(t, fixtureConfig{config: cfg})
			r := f.do(t, "POST", "api/precall/session", nil)
			if r.code != 201 {
				t.Fatalf("session: %d %s", r.code, r.body)
			}
			if got := strings.Contains(r.body, password); got != tc.handed {
				t.Errorf("the static password handed out: %v, want %v", got, tc.handed)
			}
			if got := strings.Contains(r.body, "turn:127.0.0.1:3478"); got != tc.handed {
				t.Errorf("the static server on the page: %v, want %v", got, tc.handed)
			}
			if !strings.Contains(r.body, "turn:127.0.0.2:3478") || strings.Contains(r.body, "rest-secret-Kx77") {
				t.Errorf("want the REST server with minted credentials, never its secret:\n%s", r.body)
			}
		})
	}
}
