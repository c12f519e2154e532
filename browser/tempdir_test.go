package browser

import (
	"strings"
	"testing"
)

func TestShortTempBase(t *testing.T) {
	t.Setenv("TMPDIR", "/tmp/"+strings.Repeat("x", 80))
	if got := shortTempBase(); got != "/tmp" {
		t.Errorf("long TMPDIR: shortTempBase() = %q, want /tmp", got)
	}
	t.Setenv("TMPDIR", "/tmp/short")
	if got := shortTempBase(); got != "/tmp/short" {
		t.Errorf("short TMPDIR: shortTempBase() = %q", got)
	}
}
