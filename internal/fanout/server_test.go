package fanout

import (
	"net/http"
	"strings"
	"testing"
)

// TestProtocolErrors: what a WHIP/WHEP client gets wrong is answered
// with the status RFC 9725 and HTTP name for it.
func TestProtocolErrors(t *testing.T) {
	srv, err := Start(Config{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.ln.Addr().String()
	for _, tc := range []struct {
		method, path, ctype, token, body string
		want                             int
	}{
		{"POST", "/whip/s", "application/sdp", "", "v=0", http.StatusUnauthorized},
		{"POST", "/whip/s", "application/sdp", "nope", "v=0", http.StatusUnauthorized},
		{"POST", "/whip/s", "text/plain", "tok", "v=0", http.StatusUnsupportedMediaType},
		{"POST", "/whip/s", "application/sdp", "tok", "not an offer", http.StatusBadRequest},
		{"POST", "/whip/s", "application/sdp", "tok", strings.Repeat("a", maxBody+1), http.StatusRequestEntityTooLarge},
		{"GET", "/whip/s", "", "tok", "", http.StatusMethodNotAllowed},
		{"PUT", "/whep/s", "", "tok", "", http.StatusMethodNotAllowed},
		{"DELETE", "/session/none", "", "tok", "", http.StatusNotFound},
		{"PATCH", "/session/none", "application/trickle-ice-sdpfrag", "tok", "", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s (%s, token %q): %d, want %d", tc.method, tc.path, tc.ctype, tc.token, resp.StatusCode, tc.want)
		}
	}
	if n := srv.Sessions(); n != 0 {
		t.Errorf("%d sessions left by refused requests", n)
	}
}
