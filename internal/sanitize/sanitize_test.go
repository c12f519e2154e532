package sanitize

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Bad Request", "Bad Request"},
		{"Unauthorized\x00\x00\x00", "Unauthorized"},
		{"a\x00b", `a\x00b`},
		{"\x1b[2J\x1b]0;owned\x07", `\x1b[2J\x1b]0;owned\x07`},
		{"two\nlines\r", `two\x0alines\x0d`},
		{"tab\there", `tab\x09here`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"ünïcödé ✓ 🎥", "ünïcödé ✓ 🎥"},
		{"", ""},
	} {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if HasControl(Text(tt.in)) {
			t.Errorf("Text(%q) still has a control character", tt.in)
		}
	}
}

func TestBlockKeepsLineBreaks(t *testing.T) {
	got := Block("first\nsecond \x1b[31mred\r\n")
	if want := "first\nsecond \\x1b[31mred\\x0d\n"; got != want {
		t.Errorf("Block = %q, want %q", got, want)
	}
	if HasControl(got) {
		t.Error("Block left a control character")
	}
	if !HasControl("\x1b") || !HasControl("\u202e") || HasControl("a\nb") {
		t.Error("HasControl is wrong")
	}
}

// Clean text is returned without a copy.
func TestTextCleanAllocatesNothing(t *testing.T) {
	s := strings.Repeat("turn.example.org 401 Unauthorized ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Text(s) }); n != 0 {
		t.Errorf("%v allocations for clean text", n)
	}
}

func FuzzText(f *testing.F) {
	f.Add("\x1b[2J\x00")
	f.Add("ok")
	f.Fuzz(func(t *testing.T, s string) {
		if got := Text(s); HasControl(got) || strings.Contains(got, "\n") {
			t.Fatalf("Text(%q) = %q", s, got)
		}
		if got := Block(s); HasControl(got) {
			t.Fatalf("Block(%q) = %q", s, got)
		}
	})
}
