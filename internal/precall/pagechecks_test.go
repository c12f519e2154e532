package precall

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/browser"
)

// TestSchemaFollowsPageChecks: the results schema defines a result for
// each page check the pre-call page posts (browser.PageChecks), and every
// definition no other one refers to is such a result: a page check's
// result added to the schema but not the table, or the other way round,
// fails here.
func TestSchemaFollowsPageChecks(t *testing.T) {
	var doc struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(resultsSchema, &doc); err != nil {
		t.Fatal(err)
	}
	posted := map[string]string{} // definition → page check
	for _, pc := range browser.PageChecks() {
		if pc.Schema == "" {
			continue
		}
		posted[pc.Schema] = pc.Name
		if _, ok := doc.Defs[pc.Schema]; !ok {
			t.Errorf("page check %s: no $defs/%s in the results schema", pc.Name, pc.Schema)
		}
	}
	referenced := map[string]bool{}
	for _, m := range regexp.MustCompile(`"\$ref"\s*:\s*"#/\$defs/([^"]+)"`).FindAllSubmatch(resultsSchema, -1) {
		referenced[string(m[1])] = true
	}
	for def := range doc.Defs {
		if _, ok := posted[def]; !ok && !referenced[def] {
			t.Errorf("$defs/%s is no page check's result (browser.PageChecks) and no definition refers to it", def)
		}
	}
	// Each posted page check validates: one the table names but the
	// schema lacks would fail every post.
	for def, name := range posted {
		if err := validate(name, "result", map[string]any{}); err != nil && strings.Contains(err.Error(), "no such page check") {
			t.Errorf("%s ($defs/%s): %v", name, def, err)
		}
	}
	if _, err := schemas(); err != nil {
		t.Fatal(err)
	}
}

// TestPageStagesFollowPageChecks: the pre-call page runs a task only in
// one of its stages (assets/precall.js), so each page check it may be
// given is in exactly one stage.
func TestPageStagesFollowPageChecks(t *testing.T) {
	js, err := assetsFS.ReadFile("assets/precall.js")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)const stages = \[(.*?)\n\s*\];`).FindSubmatch(js)
	if block == nil {
		t.Fatal("no const stages = [ … ]; in precall.js: the pattern no longer matches the page")
	}
	var staged []string
	for _, m := range regexp.MustCompile(`'(\w+)'`).FindAllSubmatch(block[1], -1) {
		staged = append(staged, string(m[1]))
	}
	for _, pc := range browser.PageChecks() {
		n := 0
		for _, s := range staged {
			if s == pc.Name {
				n++
			}
		}
		switch {
		case pc.Schema != "" && n != 1:
			t.Errorf("page check %s is in %d stages of precall.js, want 1", pc.Name, n)
		case pc.Schema == "" && n != 0:
			t.Errorf("page check %s is in a stage of precall.js, but the pre-call page never posts it (no Schema)", pc.Name)
		}
	}
	for _, s := range staged {
		if pc, ok := browser.LookupPageCheck(s); !ok || pc.Schema == "" {
			t.Errorf("precall.js stages %q, which no posted page check (browser.PageChecks) is", s)
		}
	}
	// The tables keyed by page check: a name misspelt there would quietly
	// run a stage one by one, or say "Checking…".
	for _, table := range []string{"parallel", "stepText"} {
		body := regexp.MustCompile(`(?s)const ` + table + ` = \{(.*?)\};`).FindSubmatch(js)
		if body == nil {
			t.Fatalf("no const %s = { … }; in precall.js: the pattern no longer matches the page", table)
		}
		keys := regexp.MustCompile(`(?m)(?:^|[{,])\s*(\w+):`).FindAllSubmatch(body[1], -1)
		if len(keys) == 0 {
			t.Errorf("no keys read in precall.js's %s", table)
		}
		for _, m := range keys {
			if pc, ok := browser.LookupPageCheck(string(m[1])); !ok || pc.Schema == "" {
				t.Errorf("precall.js's %s names %q, which no posted page check (browser.PageChecks) is", table, m[1])
			}
		}
	}
	if !strings.Contains(string(js), "stepText[") {
		t.Error("precall.js no longer reads stepText: this test reads the wrong tables")
	}
}
