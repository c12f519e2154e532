package release

import "testing"

func TestPackageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":               "1.2.3",
		"1.2.3":                "1.2.3",
		"v1.2.3-4-gabc1234":    "1.2.3.4.gabc1234",
		"v1.2.3-rc1":           "1.2.3.rc1",
		"66babd3":              "0.0.0~git66babd3",
		"66babd3-dirty":        "0.0.0~git66babd3.dirty",
		"dev":                  "0.0.0~gitdev",
		"v2.0.0-1-g0abc-dirty": "2.0.0.1.g0abc.dirty",
	} {
		if got := PackageVersion(in); got != want {
			t.Errorf("PackageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
