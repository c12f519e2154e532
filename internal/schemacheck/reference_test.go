package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	reference "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// The schema of what the pre-call page posts: the one this package
// serves.
const resultsSchema = "../precall/schema/results.schema.json"

// TestAgreesWithReference holds the verdicts to a complete validator's
// (santhosh-tekuri/jsonschema, linked by tests only): for the posted
// results schema and each of its definitions, a valid instance built from
// the schema, then instances broken in one place each (a wrong type, one
// past a bound, the bound itself, a required property missing, one not
// allowed, an integer written 100e-2 or 15e-1…), must get the same
// verdict, and a failure the same field.
func TestAgreesWithReference(t *testing.T) {
	doc, err := os.ReadFile(resultsSchema)
	if err != nil {
		t.Fatal(err)
	}
	agree(t, doc, 150)
}

// TestAgreesWithReferenceOnEveryKeyword does the same for a schema that
// uses each supported keyword in each form.
func TestAgreesWithReferenceOnEveryKeyword(t *testing.T) {
	agree(t, []byte(everyKeyword), 400)
}

const everyKeyword = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://example.com/every.schema.json",
  "title": "every keyword",
  "type": "object",
  "required": ["int", "num", "text", "list"],
  "additionalProperties": false,
  "properties": {
    "int": { "type": "integer", "minimum": -3, "maximum": 63 },
    "num": { "type": ["number", "null"], "minimum": 0, "maximum": 600000 },
    "neg": { "type": "number", "minimum": -1e12, "maximum": -0.5 },
    "text": { "type": "string", "maxLength": 3 },
    "kind": { "enum": ["audio", "video", true, null] },
    "list": { "type": "array", "maxItems": 4, "items": { "$ref": "#/$defs/item" } },
    "map": { "type": "object", "maxProperties": 3, "additionalProperties": { "type": "boolean" } },
    "loose": { "type": "object", "required": ["a"], "properties": { "a": { "$ref": "#/$defs/item" } } },
    "any": {}
  },
  "$defs": {
    "item": { "type": ["object", "null"], "required": ["id"], "properties": { "id": { "type": "integer", "minimum": 0, "maximum": 9 } } }
  }
}`

func agree(t *testing.T, doc []byte, mutants int) {
	ours, err := Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	defs, _ := raw["$defs"].(map[string]any)
	names := []string{""}
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewPCG(27, 1))
	for _, name := range names {
		theirs := compileReference(t, doc, name)
		sub, s := ours, raw
		if name != "" {
			sub, s = ours.Def(name), defs[name].(map[string]any)
		}
		count := &generator{defs: defs}
		valid := count.value(s)
		if ok, err := judge(t, sub, theirs, valid); err != nil || !ok {
			t.Fatalf("%s: the instance built from the schema is refused: %v", nameOr(name), err)
		}
		refused := 0
		for i := range mutants {
			g := &generator{defs: defs, rng: rng, target: rng.IntN(count.sites)}
			inst := g.value(s)
			ok, err := judge(t, sub, theirs, inst)
			if err != nil {
				b, _ := json.Marshal(inst)
				t.Errorf("%s, instance %d (%s): %v\n%.500s", nameOr(name), i, g.did, err, b)
			}
			if !ok {
				refused++
			}
		}
		// Most ways of breaking an instance break it: a run where few
		// did compared little.
		if refused < mutants/2 {
			t.Errorf("%s: %d of %d instances refused: the instances hardly test the refusals", nameOr(name), refused, mutants)
		}
	}
}

func nameOr(def string) string {
	if def == "" {
		return "the whole document"
	}
	return "$defs/" + def
}

func compileReference(t *testing.T, doc []byte, def string) *reference.Schema {
	t.Helper()
	const url = "https://example.com/schema.json"
	v, err := reference.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := reference.NewCompiler()
	if err := c.AddResource(url, v); err != nil {
		t.Fatal(err)
	}
	loc := url
	if def != "" {
		loc += "#/$defs/" + def
	}
	s, err := c.Compile(loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// judge validates an instance, as JSON, with both validators: whether
// ours accepts it, and an error when the reference does otherwise or
// refuses it at another field.
func judge(t *testing.T, ours *Schema, theirs *reference.Schema, inst any) (bool, error) {
	t.Helper()
	b, err := json.Marshal(inst)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := reference.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	oerr, rerr := ours.Validate(v), theirs.Validate(rv)
	switch {
	case oerr == nil && rerr == nil:
		return true, nil
	case oerr == nil:
		return true, fmt.Errorf("accepted; the reference refuses it: %v", rerr)
	case rerr == nil:
		return false, fmt.Errorf("refused (%v); the reference accepts it", oerr)
	}
	got := strings.Join(oerr.(*Error).Location, "/")
	want := referenceField(rerr.(*reference.ValidationError))
	if got != want {
		return false, fmt.Errorf("refused at /%s (%v); the reference at /%s (%v)", got, oerr, want, rerr)
	}
	return false, nil
}

// referenceField is where the reference's most specific error is,
// naming a missing or unexpected property itself, as Error does.
func referenceField(e *reference.ValidationError) string {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		loc = append(loc, k.Missing[0])
	case *kind.AdditionalProperties:
		loc = append(loc, k.Properties[0])
	}
	return strings.Join(loc, "/")
}

// generator builds an instance of a schema (given as parsed JSON), valid
// but at the target'th value it builds, which it breaks one way (did
// says how) when rng is set. Properties go in name order, so a target
// names the same place each time.
type generator struct {
	defs   map[string]any
	rng    *rand.Rand
	target int
	sites  int
	did    string
}

func (g *generator) value(s map[string]any) any {
	if ref, ok := s["$ref"].(string); ok {
		s = g.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	site := g.sites
	g.sites++
	v := g.valid(s)
	if g.rng != nil && site == g.target {
		v = g.breakOne(s, v)
	}
	return v
}

func types(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, n := range t {
			out = append(out, n.(string))
		}
		return out
	}
	return nil
}

func num(s map[string]any, k string) (float64, bool) {
	f, ok := s[k].(float64)
	return f, ok
}

func (g *generator) valid(s map[string]any) any {
	if e, ok := s["enum"].([]any); ok {
		return e[0]
	}
	ts := types(s)
	if len(ts) == 0 {
		return map[string]any{}
	}
	switch ts[0] {
	case "object":
		obj := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			obj[n] = g.value(props[n].(map[string]any))
		}
		if add, ok := s["additionalProperties"].(map[string]any); ok {
			obj["zz-extra"] = g.value(add)
		}
		return obj
	case "array":
		item, _ := s["items"].(map[string]any)
		if item == nil {
			return []any{}
		}
		return []any{g.value(item), g.value(item)}
	case "string":
		return "ok"
	case "boolean":
		return true
	case "null":
		return nil
	}
	lo, hasLo := num(s, "minimum")
	hi, hasHi := num(s, "maximum")
	switch {
	case hasLo && hasHi:
		return json.Number(fmt.Sprint(int64((lo + hi) / 2)))
	case hasLo:
		return json.Number(fmt.Sprint(lo + 1))
	}
	return json.Number("1")
}

// breakOne returns v changed one way the schema s allows or refuses.
func (g *generator) breakOne(s map[string]any, v any) any {
	var ways []func() any
	add := func(what string, f func() any) {
		ways = append(ways, func() any { g.did = what; return f() })
	}
	ts := types(s)
	for _, other := range []any{"text", json.Number("7"), json.Number("2.5"), true, nil, []any{}, map[string]any{}} {
		add(fmt.Sprintf("type: %v", other), func() any { return other })
	}
	if e, ok := s["enum"].([]any); ok {
		add("enum: not one of them", func() any { return "nope" })
		add("enum: the last", func() any { return e[len(e)-1] })
	}
	if n, ok := num(s, "maxLength"); ok {
		add("maxLength: one past, in 2-byte characters", func() any { return strings.Repeat("é", int(n)+1) })
		add("maxLength: at it, in 2-byte characters", func() any { return strings.Repeat("é", int(n)) })
		add("maxLength: one past", func() any { return strings.Repeat("x", int(n)+1) })
	}
	if hi, ok := num(s, "maximum"); ok {
		lit := strconv.FormatFloat(hi, 'f', -1, 64)
		add("maximum: at it", func() any { return json.Number(lit) })
		add("maximum: at it, with an exponent", func() any { return json.Number(lit + "0e-1") })
		add("maximum: a hair past", func() any { return json.Number(plainDecimal(hi) + ".00000000000000000001") })
		add("maximum: far past", func() any { return json.Number("1e400") })
	}
	if lo, ok := num(s, "minimum"); ok {
		lit := strconv.FormatFloat(lo, 'f', -1, 64)
		add("minimum: at it", func() any { return json.Number(lit) })
		add("minimum: a hair below, exact", func() any { return json.Number(belowHair(lo)) })
		add("minimum: far below", func() any { return json.Number("-1e400") })
		add("minimum: negative zero", func() any { return json.Number("-0") })
		add("minimum: tiny", func() any { return json.Number("1e-999999") })
	}
	if slices.Contains(ts, "integer") {
		add("integer: 100e-2", func() any { return json.Number("100e-2") })
		add("integer: 15e-1", func() any { return json.Number("15e-1") })
		add("integer: 1.0", func() any { return json.Number("1.0") })
		add("integer: 0.5", func() any { return json.Number("0.5") })
	}
	if n, ok := num(s, "maxItems"); ok {
		arr, _ := v.([]any)
		add("maxItems: one past", func() any { return grow(arr, int(n)+1) })
		add("maxItems: at it", func() any { return grow(arr, int(n)) })
	}
	if obj, ok := v.(map[string]any); ok {
		if req, ok := s["required"].([]any); ok {
			name := req[g.rng.IntN(len(req))].(string)
			add("required: "+name+" missing", func() any { return without(obj, name) })
		}
		add("a property not named", func() any { return with(obj, "zzz", json.Number("1")) })
		if n, ok := num(s, "maxProperties"); ok {
			add("maxProperties: one past", func() any {
				o := with(obj)
				for i := 0; len(o) <= int(n); i++ {
					o[fmt.Sprintf("p%d", i)] = true
				}
				return o
			})
		}
		if _, ok := s["additionalProperties"].(map[string]any); ok {
			add("an additional property of the wrong type", func() any { return with(obj, "zzz", "text") })
		}
	}
	return ways[g.rng.IntN(len(ways))]()
}

// plainDecimal writes an integral bound without an exponent.
func plainDecimal(f float64) string { return fmt.Sprintf("%.0f", f) }

// belowHair is a decimal just under f, closer than a float64 can tell.
func belowHair(f float64) string {
	if f > 0 {
		return plainDecimal(f-1) + ".99999999999999999999"
	}
	return "-" + strings.TrimPrefix(plainDecimal(-f), "-") + ".00000000000000000001"
}

func grow(arr []any, n int) []any {
	out := make([]any, n)
	for i := range out {
		if len(arr) > 0 {
			out[i] = arr[i%len(arr)]
		}
	}
	return out
}

func without(obj map[string]any, name string) map[string]any {
	o := with(obj)
	delete(o, name)
	return o
}

func with(obj map[string]any, kv ...any) map[string]any {
	o := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		o[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i].(string)] = kv[i+1]
	}
	return o
}
