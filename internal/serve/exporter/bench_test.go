package exporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/serve"
)

// BenchmarkProbeInProcess is one module's /probe through the whole
// server in one process (HTTP, routing, engine, probe, exposition),
// against the embedded server, with parallel clients.
func BenchmarkProbeInProcess(b *testing.B) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	exp := New(Options{Embedded: srv, MaxConcurrent: 1024})
	s, err := serve.New(serve.Config{}, exp)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer func() { _ = s.Shutdown(context.Background()) }()
	for _, tc := range []struct{ module, target string }{
		{"stun_udp", "stun:" + srv.Servers()[0].Addr()},
		{"turn_udp", "turn:" + srv.Servers()[0].Addr()},
	} {
		u := hs.URL + "/probe?module=" + tc.module + "&target=" + url.QueryEscape(tc.target)
		b.Run(tc.module, func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := http.Get(u)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !strings.Contains(string(body), "\nprobe_success 1\n") {
						b.Errorf("%s", body)
						return
					}
				}
			})
		})
	}
}
