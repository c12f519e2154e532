package precall

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/serve"
	"github.com/rtcprobe/rtcprobe/internal/store"
)

// adminToken opens the admin routes in the tests.
const adminToken = "test-admin-token-0123456789"

// fixture is a running rtcprobe serve with the pre-call component, its
// embedded STUN/TURN server and a store.
type fixture struct {
	url   string
	srv   *serve.Server
	pre   *Precall
	emb   *iceserver.Server
	store store.Store
}

type fixtureConfig struct {
	dsn    string // "" is SQLite in a temporary directory
	config *config.Config
	opt    Options
	// noConfig runs without a config: the server's peer then refuses
	// loopback candidates. Otherwise a nil config is loopbackConfig.
	noConfig bool
}

// loopbackConfig is what the tests run with unless they say otherwise:
// the browser, the pion clients and the embedded server are all on
// loopback, which the server's peer refuses by default.
const loopbackConfig = `version: 1
precall:
  peer_allowed_networks: [127.0.0.0/8, "::1"]
`

func startFixture(t testing.TB, fc fixtureConfig) *fixture {
	t.Helper()
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	dsn := fc.dsn
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "results.db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	opt := fc.opt
	opt.Store, opt.Embedded, opt.Version = st, emb, "test"
	pre, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if fc.config == nil && !fc.noConfig {
		cfg, err := config.Parse("loopback.yml", []byte(loopbackConfig), config.Env{Catalog: checks.Entries(checks.Catalog())})
		if err != nil {
			t.Fatal(err)
		}
		fc.config = cfg
	}
	var load func() (*config.Config, error)
	if fc.config != nil {
		load = func() (*config.Config, error) { return fc.config, nil }
	}
	srv, err := serve.New(serve.Config{Addr: "127.0.0.1:0", AdminToken: adminToken, LoadConfig: load}, pre)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	})
	return &fixture{url: "http://" + srv.Addr().String() + "/", srv: srv, pre: pre, emb: emb, store: st}
}

type response struct {
	code   int
	header http.Header
	body   string
}

// do sends a request to the fixture; headers are "Name: value".
func (f *fixture) do(t testing.TB, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.url+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// sessionReply is what POST /api/precall/session answers.
type sessionReply struct {
	Token string     `json:"token"`
	Tasks []pageTask `json:"tasks"`
}

func (f *fixture) session(t testing.TB) sessionReply {
	t.Helper()
	r := f.do(t, "POST", "api/precall/session", nil)
	if r.code != http.StatusCreated {
		t.Fatalf("session: %d %s", r.code, r.body)
	}
	var s sessionReply
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func admin() string { return "Authorization: Bearer " + adminToken }

func tokenHeader(s sessionReply) string { return fmt.Sprintf("%s: %s", sessionHeader, s.Token) }
