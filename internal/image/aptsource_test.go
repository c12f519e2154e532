package image

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFindAptSource: the Debian archive is found among the forms apt
// reads, past the suites and repositories debootstrap cannot make a
// root of; a file too large to be a sources list is refused by name.
func TestFindAptSource(t *testing.T) {
	scripts := t.TempDir()
	for _, s := range []string{"bookworm", "trixie"} {
		if err := os.WriteFile(filepath.Join(scripts, s), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // under /etc/apt
		want  AptSource
		err   string
	}{
		{"deb822", map[string]string{
			"sources.list.d/debian.sources": "Types: deb\n# a comment\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
				"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n",
			"sources.list.d/nodesource.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n",
		}, AptSource{"http://deb.debian.org/debian", "bookworm", []AptRepo{
			{"http://deb.debian.org/debian", "bookworm-updates"}, {"http://deb.debian.org/debian-security", "bookworm-security"}}}, ""},
		{"third party first", map[string]string{
			"sources.list.d/a.sources":     "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n",
			"sources.list.d/b-debian.list": "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=amd64] http://mirror.example/debian trixie main contrib\n",
		}, AptSource{"http://mirror.example/debian", "trixie", nil}, ""},
		{"one-line sources.list, deb-src and disabled skipped", map[string]string{
			"sources.list":               "deb-src http://deb.debian.org/debian bookworm main\n# deb http://old.example/debian bookworm main\ndeb http://deb.debian.org/debian bookworm main\n",
			"sources.list.d/off.sources": "Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nComponents: main\nEnabled: no\n",
		}, AptSource{"http://deb.debian.org/debian", "bookworm", nil}, ""},
		{"no main", map[string]string{"sources.list": "deb http://deb.debian.org/debian bookworm contrib\n"},
			AptSource{}, "no Debian suite debootstrap knows"},
		{"too large", map[string]string{"sources.list": strings.Repeat("#", maxSourcesFile+1)},
			AptSource{}, "sources.list: larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apt := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(apt, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := FindAptSource(apt, scripts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
