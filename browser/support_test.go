package browser

import "testing"

func TestOutdatedBy(t *testing.T) {
	for _, tt := range []struct {
		engine Engine
		major  int
		want   int
	}{
		{Chromium, TestedChromium, 0},
		{Chromium, TestedChromium + 3, 0},
		{Chromium, TestedChromium - 4, 0},
		{Chromium, TestedChromium - 5, 1},
		{Chromium, 120, TestedChromium - 4 - 120},
		{Firefox, 153, 0},
		{Firefox, 140, 0},
		{Firefox, 128, 12},
		{Firefox, 0, 0}, // unknown version: nothing to judge
		{"", 50, 0},
	} {
		if got := OutdatedBy(tt.engine, tt.major); got != tt.want {
			t.Errorf("OutdatedBy(%s, %d) = %d, want %d", tt.engine, tt.major, got, tt.want)
		}
	}
}
