// Package schemacheck validates parsed JSON against the part of JSON
// Schema (draft 2020-12) that rtcprobe's schemas of posted input use.
//
// A general validator is not linked instead because its cost falls on
// every process: the one this replaces compiled all of its meta-schemas in
// package init, 6 ms and 1.7 MB on each CLI run, serve or not. Compile
// refuses any keyword outside the part, so a schema cannot silently mean
// less than it says; the tests hold the verdicts to that validator's.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Draft is the only $schema a document may name.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a compiled schema: the document's root, or one of its $defs.
type Schema struct {
	types         []string // JSON types allowed; nil: any
	enum          []any
	ref           string // "#/$defs/NAME" as written
	refTo         *Schema
	properties    map[string]*Schema
	required      []string
	additional    *Schema // schema of properties not named; nil: any
	noAdditional  bool    // additionalProperties: false
	items         *Schema
	maxItems      int // -1: no limit
	maxLength     int
	maxProperties int
	minimum       *bound
	maximum       *bound

	defs map[string]*Schema // the root's
}

// bound is a minimum or maximum, as written and as a decimal.
type bound struct {
	lit string
	d   decimal
}

// Error is the first way an instance breaks the schema: where (the JSON
// path's parts, naming a missing or unexpected property itself) and what.
type Error struct {
	Location []string
	Msg      string
}

func (e *Error) Error() string { return "/" + strings.Join(e.Location, "/") + ": " + e.Msg }

// Parse reads one JSON value, numbers kept exact as json.Number, and
// nothing after it.
func Parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}

// Compile compiles a schema document.
func Compile(doc []byte) (*Schema, error) {
	v, err := Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("schemacheck: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("schemacheck: the document is not an object")
	}
	if d, ok := m["$schema"]; ok && d != Draft {
		return nil, fmt.Errorf("schemacheck: $schema %v: only %s is supported", d, Draft)
	}
	c := &compiler{defs: map[string]*Schema{}}
	if defs, ok := m["$defs"]; ok {
		dm, ok := defs.(map[string]any)
		if !ok {
			return nil, errors.New("schemacheck: $defs is not an object")
		}
		for name, d := range dm {
			if c.defs[name], err = c.compile(d, "#/$defs/"+name); err != nil {
				return nil, err
			}
		}
	}
	root, err := c.compile(m, "#")
	if err != nil {
		return nil, err
	}
	for _, s := range c.refs {
		if s.refTo = c.defs[strings.TrimPrefix(s.ref, "#/$defs/")]; s.refTo == nil {
			return nil, fmt.Errorf("schemacheck: $ref %q: no such definition", s.ref)
		}
	}
	root.defs = c.defs
	return root, nil
}

// Def is the root's definition of that name, nil when there is none.
func (s *Schema) Def(name string) *Schema { return s.defs[name] }

type compiler struct {
	defs map[string]*Schema
	refs []*Schema // to resolve once every definition is compiled
}

var jsonTypes = []string{"array", "boolean", "integer", "null", "number", "object", "string"}

func (c *compiler) compile(v any, at string) (*Schema, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schemacheck: %s: a schema must be an object", at)
	}
	s := &Schema{maxItems: -1, maxLength: -1, maxProperties: -1}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		var err error
		switch k {
		case "$schema", "$defs":
			if at != "#" {
				err = errors.New("only at the root")
			}
		case "$id", "title", "description":
			// annotations
		case "type":
			s.types, err = typeList(val)
		case "enum":
			s.enum, err = enumList(val)
		case "$ref":
			s.ref, _ = val.(string)
			if !strings.HasPrefix(s.ref, "#/$defs/") {
				err = errors.New("only #/$defs/NAME is supported")
			}
			c.refs = append(c.refs, s)
		case "properties":
			pm, ok := val.(map[string]any)
			if !ok {
				err = errors.New("not an object")
				break
			}
			s.properties = map[string]*Schema{}
			for name, p := range pm {
				if s.properties[name], err = c.compile(p, at+"/properties/"+name); err != nil {
					return nil, err
				}
			}
		case "required":
			s.required, err = stringList(val)
		case "additionalProperties":
			if b, ok := val.(bool); ok {
				s.noAdditional = !b
				break
			}
			if s.additional, err = c.compile(val, at+"/additionalProperties"); err != nil {
				return nil, err
			}
		case "items":
			if s.items, err = c.compile(val, at+"/items"); err != nil {
				return nil, err
			}
		case "maxItems":
			s.maxItems, err = count(val)
		case "maxLength":
			s.maxLength, err = count(val)
		case "maxProperties":
			s.maxProperties, err = count(val)
		case "minimum":
			s.minimum, err = boundOf(val)
		case "maximum":
			s.maximum, err = boundOf(val)
		default:
			err = errors.New("keyword not supported")
		}
		if err != nil {
			return nil, fmt.Errorf("schemacheck: %s/%s: %w", at, k, err)
		}
	}
	return s, nil
}

func typeList(v any) ([]string, error) {
	names := []string{}
	switch t := v.(type) {
	case string:
		names = append(names, t)
	case []any:
		for _, n := range t {
			s, ok := n.(string)
			if !ok {
				return nil, errors.New("not a type name")
			}
			names = append(names, s)
		}
	default:
		return nil, errors.New("not a type name or a list of them")
	}
	for _, n := range names {
		if !slices.Contains(jsonTypes, n) {
			return nil, fmt.Errorf("no type %q", n)
		}
	}
	return names, nil
}

// enumList takes strings, booleans and null: values whose equality is
// plain ==.
func enumList(v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("not an array")
	}
	for _, e := range list {
		switch e.(type) {
		case string, bool, nil:
		default:
			return nil, errors.New("only strings, booleans and null are supported")
		}
	}
	return list, nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("not an array")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errors.New("not a string")
		}
		out = append(out, s)
	}
	return out, nil
}

func count(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < 0 {
		return 0, errors.New("not a non-negative integer")
	}
	return i, nil
}

func boundOf(v any) (*bound, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, errors.New("not a number")
	}
	d, ok := parseDecimal(n.String())
	if !ok {
		return nil, errors.New("not a number")
	}
	return &bound{lit: n.String(), d: d}, nil
}

// Validate checks a value as Parse gives it (json.Number or float64 for
// numbers); a failure is an *Error.
func (s *Schema) Validate(v any) error {
	if err := s.validate(v, nil); err != nil {
		return err
	}
	return nil
}

func (s *Schema) validate(v any, loc []string) *Error {
	t := typeOf(v)
	if t == "" {
		return fail(loc, fmt.Sprintf("%T is not a JSON value", v))
	}
	if s.types != nil && !slices.Contains(s.types, t) && (t != "number" || !slices.Contains(s.types, "integer") || !isInteger(v)) {
		return fail(loc, fmt.Sprintf("got %s, want %s", t, strings.Join(s.types, " or ")))
	}
	if s.enum != nil && !slices.Contains(s.enum, v) {
		return fail(loc, "value must be one of "+quoteAll(s.enum))
	}
	if s.refTo != nil {
		if err := s.refTo.validate(v, loc); err != nil {
			return err
		}
	}
	switch v := v.(type) {
	case map[string]any:
		return s.object(v, loc)
	case []any:
		if s.maxItems >= 0 && len(v) > s.maxItems {
			return fail(loc, fmt.Sprintf("maxItems: got %d, want %d", len(v), s.maxItems))
		}
		if s.items != nil {
			for i, e := range v {
				if err := s.items.validate(e, append(loc, strconv.Itoa(i))); err != nil {
					return err
				}
			}
		}
	case string:
		if s.maxLength >= 0 {
			if n := utf8.RuneCountInString(v); n > s.maxLength {
				return fail(loc, fmt.Sprintf("maxLength: got %d, want %d", n, s.maxLength))
			}
		}
	case json.Number, float64:
		if s.minimum != nil && compare(v, s.minimum) < 0 {
			return fail(loc, fmt.Sprintf("minimum: got %v, want %v", v, s.minimum.lit))
		}
		if s.maximum != nil && compare(v, s.maximum) > 0 {
			return fail(loc, fmt.Sprintf("maximum: got %v, want %v", v, s.maximum.lit))
		}
	}
	return nil
}

func (s *Schema) object(obj map[string]any, loc []string) *Error {
	if s.maxProperties >= 0 && len(obj) > s.maxProperties {
		return fail(loc, fmt.Sprintf("maxProperties: got %d, want %d", len(obj), s.maxProperties))
	}
	for _, name := range s.required {
		if _, ok := obj[name]; !ok {
			return fail(append(loc, name), "missing")
		}
	}
	if s.properties == nil && s.additional == nil && !s.noAdditional {
		return nil
	}
	// In name order, so the error reported is always the same one.
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sub, named := s.properties[name]
		switch {
		case named:
		case s.noAdditional:
			return fail(append(loc, name), "not allowed here")
		case s.additional != nil:
			sub = s.additional
		default:
			continue
		}
		if err := sub.validate(obj[name], append(loc, name)); err != nil {
			return err
		}
	}
	return nil
}

// fail copies loc: callers append to one backing array as they descend.
func fail(loc []string, msg string) *Error {
	return &Error{Location: slices.Clone(loc), Msg: msg}
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

// isInteger tells whether a number is whole, judged on its digits.
func isInteger(v any) bool {
	d, ok := decimalOf(v)
	return ok && int64(len(d.digits)) <= d.point
}

// compare orders a number against a bound, exactly.
func compare(v any, b *bound) int {
	d, ok := decimalOf(v)
	if !ok {
		return 0
	}
	return d.cmp(b.d)
}

// decimal is a number as its digits: 0.digits × 10^point, digits without
// leading or trailing zeros ("" is zero). Numbers are compared and judged
// whole on it, exactly and in time linear in the literal, whatever its
// exponent.
type decimal struct {
	neg    bool
	digits string
	point  int64
}

func decimalOf(v any) (decimal, bool) {
	switch n := v.(type) {
	case json.Number:
		return parseDecimal(n.String())
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return decimal{}, false
		}
		return parseDecimal(strconv.FormatFloat(n, 'e', -1, 64))
	}
	return decimal{}, false
}

// parseDecimal reads a JSON number's literal.
func parseDecimal(lit string) (decimal, bool) {
	var d decimal
	if strings.HasPrefix(lit, "-") {
		d.neg, lit = true, lit[1:]
	}
	var exp int64
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		e, err := strconv.ParseInt(strings.TrimPrefix(lit[i+1:], "+"), 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return d, false
		}
		// An exponent past ±2^40 puts the number beyond any bound a
		// schema writes; clamped, adding the digits' count cannot
		// overflow.
		lit, exp = lit[:i], max(-1<<40, min(e, 1<<40))
	}
	intPart, frac, _ := strings.Cut(lit, ".")
	if intPart == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return d, false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	point := exp + int64(len(intPart)) - int64(len(intPart)+len(frac)-len(digits))
	d.digits = strings.TrimRight(digits, "0")
	if d.digits == "" {
		return decimal{}, true // zero, -0 too
	}
	d.point = point
	return d, true
}

func (a decimal) cmp(b decimal) int {
	sign := func(d decimal) int {
		switch {
		case d.digits == "":
			return 0
		case d.neg:
			return -1
		}
		return 1
	}
	sa, sb := sign(a), sign(b)
	if sa != sb || sa == 0 {
		return cmpInt(sa, sb)
	}
	// Same sign: compare magnitudes, then turn for negatives.
	m := cmpInt(a.point, b.point)
	if m == 0 {
		m = strings.Compare(a.digits, b.digits)
	}
	return sa * m
}

func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func quoteAll(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}
