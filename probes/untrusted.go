package probes

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/rtcprobe/rtcprobe/internal/sanitize"
)

// maxNetworkText bounds a string a server sent (a reason phrase, a realm,
// a status line) where it is kept for display.
const maxNetworkText = 256

// fromNetwork makes a string a server sent fit to show: at most
// maxNetworkText bytes, control characters escaped. Every such string
// passes through it where it enters a Measurement or an error.
func fromNetwork(s string) string { return sanitize.Text(truncate(s, maxNetworkText)) }

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// firstBytes shows the start of an answer that is not the protocol's: as
// text when it is printable (an HTTP status line, a banner), else in hex.
func firstBytes(b []byte) string {
	const n = 16
	cut := ""
	if len(b) > n {
		b, cut = b[:n], "…"
	}
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' {
			return fmt.Sprintf("% x", b) + cut
		}
	}
	return strconv.Quote(string(b)) + cut
}
