package report

import (
	"fmt"
	"strings"
	"unicode"
)

// terminalText makes text that may come from the network (a server's
// reason phrase, a certificate's names, a browser's error text) safe to
// print on a terminal: control characters, which could retitle the
// window, clear the screen or fake output, and bidirectional overrides,
// which could reorder what is shown, are printed as escapes (\x1b). Line
// breaks stay: the table's cells use them.
func terminalText(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
}
