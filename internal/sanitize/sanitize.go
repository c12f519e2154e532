// Package sanitize makes text that came from outside (a server's reason
// phrase, realm or status line, a WebSocket message, a certificate name)
// safe to show: no control character from it reaches a terminal or a
// document. Probes clean such text where it enters; the report writers
// clean everything again before rendering.
package sanitize

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text returns s on one line: trailing NUL padding dropped (coturn pads
// reason phrases with NULs), every other control character (C0, DEL, C1,
// line breaks included), Unicode bidirectional and line-separator
// controls, and bytes that are not UTF-8 written as visible escapes such
// as \x1b or \u202e. Text that needs none of this is returned as is.
func Text(s string) string { return clean(s, false) }

// Block is Text for text whose line breaks are its own structure (a
// report field that may span lines): "\n" is kept, the rest is escaped.
func Block(s string) string { return clean(s, true) }

func clean(s string, keepNewlines bool) string {
	s = strings.TrimRight(s, "\x00")
	if isClean(s, keepNewlines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isClean(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && !(c == '\n' && keepNewlines)) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeRune is a non-ASCII rune that changes how a terminal or a page
// lays text out: C1 controls (U+0080–U+009F, e.g. CSI), bidirectional
// overrides and isolates (text shown in another order than written),
// and the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// HasControl reports whether s holds anything Block would escape: a
// test's way to prove no control character got through.
func HasControl(s string) bool { return !isClean(s, true) }
