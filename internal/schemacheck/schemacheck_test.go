package schemacheck

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNumbersExactly: bounds and integers are judged on the digits, so
// a number closer to a bound than a float64 can tell is on its side, and
// exponents of any size cost nothing.
func TestNumbersExactly(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"0.5", "0.05", 1},
		{"0.05", "0.5", -1},
		{"5e-1", "0.5", 0},
		{"600000", "6e5", 0},
		{"600000.00000000000000000001", "600000", 1},
		{"-0.00000000000000000001", "0", -1},
		{"-0", "0", 0},
		{"-1.5", "-1.25", -1},
		{"-1e12", "-1000000000000.0", 0},
		{"1e-99999999999", "0", 1},
		{"1e99999999999999999999", "1e12", 1},
		{"-1e99999999999999999999", "-1e12", -1},
		{"100", "99.999999999999999999999", 1},
	} {
		a, oka := parseDecimal(tc.a)
		b, okb := parseDecimal(tc.b)
		if !oka || !okb {
			t.Fatalf("%s or %s not read", tc.a, tc.b)
		}
		if got := a.cmp(b); got != tc.want {
			t.Errorf("%s against %s = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for lit, whole := range map[string]bool{
		"0": true, "-0": true, "1.0": true, "100e-2": true, "15e-1": false, "0.5": false,
		"1e400": true, "1.5e1": true, "1.55e1": false, "1e-99999999999": false, "2.55e1": false, "2.500e2": true,
	} {
		if got := isInteger(json.Number(lit)); got != whole {
			t.Errorf("%s whole = %v, want %v", lit, got, whole)
		}
	}
}

// TestCompileRefuses: a keyword outside the supported part, a $ref out
// of the document or to nothing, or another draft is refused, not
// ignored.
func TestCompileRefuses(t *testing.T) {
	for _, doc := range []string{
		`{"type": "string", "pattern": "^a"}`,
		`{"type": "object", "properties": {"a": {"minLength": 1}}}`,
		`{"$ref": "other.json#/$defs/a"}`,
		`{"$ref": "#/$defs/none", "$defs": {"a": {}}}`,
		`{"$schema": "http://json-schema.org/draft-07/schema#"}`,
		`{"type": "text"}`,
		`{"enum": [1, 2]}`,
		`{"items": [{"type": "string"}]}`,
		`{"maxItems": -1}`,
		`{"properties": {"a": {"$defs": {}}}}`,
	} {
		if _, err := Compile([]byte(doc)); err == nil {
			t.Errorf("%s compiled", doc)
		}
	}
}

// TestParse reads one value, numbers exact, and nothing after it.
func TestParse(t *testing.T) {
	v, err := Parse([]byte(` {"n": 1.10} `))
	if err != nil {
		t.Fatal(err)
	}
	if n := v.(map[string]any)["n"]; n != json.Number("1.10") {
		t.Errorf("n = %#v, want json.Number 1.10", n)
	}
	for _, bad := range []string{`{"a":1} {"b":2}`, `{"a":1}x`, `{"a":`, ``} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestErrorNamesTheField: a missing or unexpected property is named
// itself, not the object around it.
func TestErrorNamesTheField(t *testing.T) {
	s, err := Compile([]byte(`{"type": "object", "required": ["a"], "additionalProperties": false,
		"properties": {"a": {"type": "array", "items": {"type": "object", "properties": {"b": {"type": "integer"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]string{
		`{}`:                      "/a: missing",
		`{"a": [], "z": 1}`:       "/z: not allowed here",
		`{"a": [{}, {"b": 1.5}]}`: "/a/1/b: got number, want integer",
	} {
		v, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Validate(v)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %s", doc, err, want)
		}
	}
}
