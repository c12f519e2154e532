package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBrowserFlags(t *testing.T) {
	t.Setenv("RTCPROBE_BROWSER", "")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"bad media", []string{"--media", "webcam"}, exitUsage, `invalid --media "webcam"`},
		{"missing browser skips", []string{"--checks", "browser.api", "--browser", "/nonexistent/chrome", "--json", "-"}, exitOK, `"status": "skip"`},
		{"missing browser required fails", []string{"--checks", "browser.api", "--browser", "/nonexistent/chrome", "--require-browser", "--json", "-"}, exitFail, `"status": "fail"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}
