package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/input"
	"github.com/rtcprobe/rtcprobe/internal/precall"
	"github.com/rtcprobe/rtcprobe/internal/serve"
	"github.com/rtcprobe/rtcprobe/internal/serve/exporter"
	"github.com/rtcprobe/rtcprobe/internal/store"
)

// defaultListen is serve's address: loopback, so nothing is exposed
// until the operator says so.
const defaultListen = "127.0.0.1:9781"

// serveFlags are `rtcprobe serve`'s flags.
type serveFlags struct {
	config        string
	listen        string
	webConfig     string
	timeoutOffset time.Duration
	maxProbes     int
	maxConns      int
	drain         time.Duration
	logLevel      slog.Level
	caFile        string
	insecure      bool
	db            string
	retention     time.Duration
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("rtcprobe serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.config, "config", "", "the YAML config `FILE` (modules:, and what a CLI run reads); without it, the default modules probe an embedded server")
	fs.StringVar(&f.listen, "listen", defaultListen, "`ADDR` to serve on")
	fs.StringVar(&f.webConfig, "web-config", "", "Prometheus web config `FILE`: TLS and basic auth (exporter-toolkit format)")
	fs.DurationVar(&f.timeoutOffset, "timeout-offset", 500*time.Millisecond, "taken off Prometheus' scrape timeout to get the probe's deadline")
	fs.IntVar(&f.maxProbes, "max-probes", 64, "probes in flight at once across modules; more get 429")
	fs.IntVar(&f.maxConns, "max-connections", 1024, "connections open at once (one client address: a sixteenth); more are closed at once")
	fs.DurationVar(&f.drain, "drain-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long probes in flight may finish")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.StringVar(&f.caFile, "ca", "", "trust the CA certificates in PEM `FILE` for turns:/stuns:/wss: targets")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify targets' TLS/DTLS certificates (testing only)")
	fs.StringVar(&f.db, "db", "rtcprobe.db", "where pre-call results are kept: a SQLite `FILE`, or postgres://… for PostgreSQL")
	retention := fs.String("retention", "", "delete pre-call results older than `D` (30d, 2w, 720h; default: the config's precall.retention, else keep)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			serveUsage(stderr, fs)
			return nil, errHelp
		}
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (targets come with each /probe request)", fs.Arg(0))
	case f.maxProbes < 1 || f.maxProbes > 100000:
		return nil, fmt.Errorf("invalid --max-probes %d: want 1 to 100000", f.maxProbes)
	case f.maxConns < 16 || f.maxConns > 1000000:
		return nil, fmt.Errorf("invalid --max-connections %d: want 16 to 1000000", f.maxConns)
	case f.timeoutOffset < 0 || f.drain <= 0:
		return nil, errors.New("--timeout-offset and --drain-timeout take positive durations")
	case f.caFile != "" && f.insecure:
		return nil, errors.New("--ca and --insecure exclude each other: give one")
	case f.db == "":
		return nil, errors.New("--db needs a SQLite file or a postgres:// URL")
	}
	if *retention != "" {
		var err error
		if f.retention, err = config.ParseRetention(*retention); err != nil {
			return nil, fmt.Errorf("invalid --retention %q: %v", *retention, err)
		}
	}
	return f, nil
}

func serveUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: rtcprobe serve [--config FILE] [--listen ADDR] [--web-config FILE] [--db DSN] [--retention D]

Serves the Prometheus exporter (GET /probe?module=NAME&target=URI, /metrics,
/status) and the pre-call page (/) with its results (/admin, /api/v1/results:
the web config's basic auth or Authorization: Bearer $RTCPROBE_ADMIN_TOKEN).
SIGHUP or POST /-/reload reloads the config (a bad one is refused and the old
one kept); SIGTERM/SIGINT drain the probes in flight and exit 0.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// serveCommand runs until ctx ends (a signal), then drains.
func serveCommand(ctx context.Context, args []string, stderr io.Writer) int {
	f, err := parseServeFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: f.logLevel}))
	tlsCfg, err := input.ClientTLS(f.caFile, f.insecure)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: --ca %s: %v\n", f.caFile, err)
		return exitUsage
	}
	catalog := checks.Catalog()
	var emb *iceserver.Server
	if f.config == "" {
		if emb, err = iceserver.Start(iceserver.Config{}); err != nil {
			fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
			return exitInternal
		}
		defer emb.Close()
	}
	load := func() (*config.Config, error) {
		if f.config == "" {
			return nil, nil
		}
		return input.LoadConfig(f.config, catalog)
	}
	exp := exporter.New(exporter.Options{Catalog: catalog, Embedded: emb, TLS: tlsCfg, MaxConcurrent: f.maxProbes,
		TimeoutOffset: f.timeoutOffset, Logger: log, Version: version})
	// The config and the address are checked before the store is opened
	// (and a SQLite file created) for a server that cannot start.
	if _, err := load(); err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
		return exitUsage
	}
	if _, err := net.ResolveTCPAddr("tcp", f.listen); err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: --listen %s: %v\n", f.listen, err)
		return exitUsage
	}
	results, err := store.Open(ctx, f.db)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: --db %s: %v\n", store.Redact(f.db), err)
		if store.BadDSN(err) {
			return exitUsage
		}
		return exitInternal // the database cannot be reached or opened
	}
	defer results.Close()
	if results.ReadOnly() {
		// Reads are still served; results are refused and /-/ready says so.
		log.Warn("the results database cannot be written: opened read-only; pre-call results will be refused with 503", "results", store.Redact(f.db))
	}
	pre, err := precall.New(precall.Options{Catalog: catalog, Store: results, Embedded: emb, TLS: tlsCfg, Retention: f.retention,
		Logger: log, Version: version})
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
		return exitInternal
	}
	srv, err := serve.New(serve.Config{Addr: f.listen, WebConfigFile: f.webConfig, AdminToken: os.Getenv("RTCPROBE_ADMIN_TOKEN"),
		LoadConfig: load, Logger: log, Version: version, Limits: serve.Limits{MaxConns: f.maxConns}}, exp, pre)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: %v\n", err)
		return exitUsage
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "rtcprobe serve: --listen %s: %v\n", f.listen, err)
		return exitUsage
	}
	scheme := "http"
	if srv.TLS() {
		scheme = "https"
	}
	log.Info("listening", "address", srv.Addr().String(), "precall", scheme+"://"+srv.Addr().String()+"/", "status", scheme+"://"+srv.Addr().String()+"/status",
		"results", store.Redact(f.db))
	if emb != nil {
		log.Info("no --config: the default modules probe the embedded server only",
			"stun", fmt.Sprintf("stun:127.0.0.1:%d", emb.Port()), "turn", fmt.Sprintf("turn:127.0.0.1:%d", emb.Port()),
			"turns", fmt.Sprintf("turns:127.0.0.1:%d", emb.TLSPort()))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			_ = srv.Reload() // logged; the old config stays on error
		case err := <-served:
			log.Error("serving stopped", "err", err)
			return exitInternal
		case <-ctx.Done():
			log.Info("draining: requests in flight (probes, page sessions) finish, connections serving none are closed, new ones refused", "cause", context.Cause(ctx).Error(), "timeout", f.drain)
			dctx, cancel := context.WithTimeout(context.Background(), f.drain)
			err := srv.Shutdown(dctx)
			cancel()
			<-served
			if err != nil {
				log.Error("drain incomplete", "err", err)
				return exitInternal
			}
			log.Info("stopped")
			return exitOK
		}
	}
}
