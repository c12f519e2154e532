package probes_test

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/probes"
)

// A bad --proxy is named in the error, its password never.
func TestParseProxyHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"http://u:s3cret@host:bad",
		"http://u:s3cret@ho st:80",
		"http://u:s3cret@[::1:80",
		"https://u:s3cret@host:80",
		"http://u:s3cret@host",
		"http://u:s3cret@127.0.0.1:99999",
	} {
		_, err := probes.ParseProxy(raw)
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "u:") {
			t.Errorf("%s: error %q must say why without quoting the value", raw, err)
		}
	}
	if _, err := probes.ParseProxy("http://u:s3cret@127.0.0.1:3128"); err != nil {
		t.Errorf("valid proxy refused: %v", err)
	}
}
