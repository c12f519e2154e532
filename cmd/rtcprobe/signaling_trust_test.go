package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestSignalingOnlyRunKeepsTheUsersTrust: a run that names only a wss://
// signaling server probes no embedded server, and the trust the user
// asked for (--ca, --insecure, else the system's roots) is what verifies
// that server's certificate: the embedded server's CA replaces nothing.
func TestSignalingOnlyRunKeepsTheUsersTrust(t *testing.T) {
	cert, err := netlab.NewCert(time.Now().Add(90*24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(websocket.Server{Handler: func(ws *websocket.Conn) { _, _ = io.Copy(ws, ws) }})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's refused handshake
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	defer srv.Close()
	url := "wss://" + srv.Listener.Addr().String() + "/signal"
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
		// tls is the evidence of the TLS step: the library refers to
		// the option, the command line names its flag.
		tls string
	}{
		{"the system's roots", nil, exitFail, "certificate", ""},
		{"--ca", []string{"--ca", caFile}, exitOK, "", "chain verified"},
		{"--insecure", []string{"--insecure"}, exitOK, "", "chain not verified (--insecure)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rtcprobe(t, append([]string{"--checks", "signaling", "--signaling", url, "--json", "-"}, tc.args...)...)
			var rep struct {
				Servers []string `json:"servers"`
				Checks  []struct {
					ID, Status, Error string
					Evidence          []struct{ Name, Value string }
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatalf("exit %d, no JSON report: %v\n%s", res.code, err, res.stderr)
			}
			if res.code != tc.code || len(rep.Checks) != 1 || !strings.Contains(rep.Checks[0].Error, tc.want) {
				t.Errorf("exit %d (want %d), checks %+v, want one signaling row whose error names %q", res.code, tc.code, rep.Checks, tc.want)
			}
			if tc.tls != "" && len(rep.Checks) == 1 && !slices.ContainsFunc(rep.Checks[0].Evidence, func(e struct{ Name, Value string }) bool {
				return e.Name == "tls" && strings.HasSuffix(e.Value, tc.tls)
			}) {
				t.Errorf("evidence %+v: want tls ending %q", rep.Checks[0].Evidence, tc.tls)
			}
			if len(rep.Servers) != 0 {
				t.Errorf("servers %q: a signaling-only run probes no STUN/TURN server", rep.Servers)
			}
		})
	}
}
