package precall

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/schemacheck"
)

// resultsSchema is the JSON Schema of what the page posts, with one
// definition per page check's result.
//
//go:embed schema/results.schema.json
var resultsSchema []byte

// posted is what the page posts: the browser's user agent and each page
// check's outcome, by task.
type posted struct {
	UserAgent string       `json:"user_agent"`
	Results   []postedTask `json:"results"`
}

type postedTask struct {
	Task   int                `json:"task"`
	OK     bool               `json:"ok"`
	MS     float64            `json:"ms"`
	Result json.RawMessage    `json:"result"`
	Error  *browser.PageError `json:"error"`
}

// schemas are the compiled posted-results schema and one per page check
// result ("api", "ice", …; browser.PageChecks names their definitions),
// compiled once, on the first post: not in every process that links this.
var schemas = sync.OnceValues(func() (map[string]*schemacheck.Schema, error) {
	root, err := schemacheck.Compile(resultsSchema)
	if err != nil {
		return nil, err
	}
	out := map[string]*schemacheck.Schema{"": root}
	for _, pc := range browser.PageChecks() {
		if pc.Schema == "" {
			continue // never posted
		}
		if out[pc.Name] = root.Def(pc.Schema); out[pc.Name] == nil {
			return nil, fmt.Errorf("page check %s: no $defs/%s", pc.Name, pc.Schema)
		}
	}
	return out, nil
})

// FieldError is posted input that breaks the schema: the field (a JSON
// path like results[2].result.gumMs) and what is wrong with it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// decodePosted validates the page's post against the schema and decodes
// it. The document is parsed into a tree once: each result is validated
// against its page check's schema on that tree later (check), not parsed
// again, since the tree costs some 50 times the body.
func decodePosted(body []byte) (*posted, []any, error) {
	doc, err := schemacheck.Parse(body)
	if err != nil {
		return nil, nil, &FieldError{Field: "(body)", Msg: "not JSON: " + err.Error()}
	}
	if err := validate("", "", doc); err != nil {
		return nil, nil, err
	}
	var p posted
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, &FieldError{Field: "(body)", Msg: err.Error()}
	}
	// The schema made results an array of objects.
	results, _ := doc.(map[string]any)["results"].([]any)
	return &p, results, nil
}

// resultOf is the tree of results[i].result.
func resultOf(results []any, i int) any {
	if i >= len(results) {
		return nil
	}
	r, _ := results[i].(map[string]any)
	return r["result"]
}

// validate checks a parsed document against the named schema ("" is the
// whole post); at prefixes the field names of errors.
func validate(name, at string, v any) error {
	all, err := schemas()
	if err != nil {
		return fmt.Errorf("precall: results schema: %w", err) // our own fault
	}
	sch := all[name]
	if sch == nil {
		return &FieldError{Field: at, Msg: "no such page check"}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var se *schemacheck.Error
	if !errors.As(err, &se) {
		return &FieldError{Field: at, Msg: err.Error()}
	}
	return &FieldError{Field: fieldPath(at, se.Location), Msg: se.Msg}
}

// fieldPath writes a JSON location as results[2].result.gumMs.
func fieldPath(at string, loc []string) string {
	var b strings.Builder
	b.WriteString(at)
	for _, p := range loc {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteString(".")
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}
