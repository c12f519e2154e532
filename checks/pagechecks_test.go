package checks

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestRemoteChecksUsePageChecks: every check a browser elsewhere measures
// hands out a page check the pre-call page posts (one with a result
// schema in browser.PageChecks), and every such page check is some
// check's: the catalogue and the table cannot drift apart by a name.
func TestRemoteChecksUsePageChecks(t *testing.T) {
	var servers []probes.Server
	for _, uri := range []string{"stun:stun.example.com:3478", "turn:turn.example.com:3478"} {
		s, err := probes.ParseServer(uri)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
	}
	p := &Plan{Servers: servers}
	used := map[string]bool{}
	for _, c := range Catalog() {
		if c.Remote == nil {
			continue
		}
		subs := c.Subjects(p)
		if len(subs) == 0 {
			t.Errorf("%s: no subject with a STUN and a TURN server", c.ID)
		}
		for _, s := range subs {
			name := c.Remote.Task(s, p, RemoteEnv{}).Name
			pc, ok := browser.LookupPageCheck(name)
			if !ok || pc.Schema == "" {
				t.Errorf("%s (%s): page check %q is not one the pre-call page posts (browser.PageChecks)", c.ID, s.Name, name)
			}
			used[name] = true
		}
	}
	for _, pc := range browser.PageChecks() {
		if pc.Schema != "" && !used[pc.Name] {
			t.Errorf("page check %s has a result schema but no check hands it out", pc.Name)
		}
	}
}
