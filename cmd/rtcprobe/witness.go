package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/rtcprobe/rtcprobe/internal/witness"
	"github.com/rtcprobe/rtcprobe/probes"
)

const witnessSynopsis = "rtcprobe witness udp:HOST:PORT[,tcp:HOST:PORT…]   (where rtcprobe audit --witness proves arrival)"

// witnessCommand listens where the admin wants proof that a TURN server
// relays there, prints a line per marker or connection that arrives, and
// answers audit markers only, until interrupted.
func witnessCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtcprobe witness", flag.ContinueOnError)
	if code, ok := parseSubcommand(fs, witnessSynopsis, args, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "rtcprobe witness: name the listeners, e.g. udp:10.0.0.5:9999 (usage: %s)\n", witnessSynopsis)
		return exitUsage
	}
	list, err := probes.ParseWitnesses(strings.Join(fs.Args(), ","))
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe witness: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		serve []func() error
		names []string
	)
	report := func(a witness.Arrival) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stdout, a)
	}
	for _, w := range list {
		if w.Network == "udp" {
			pc, err := net.ListenPacket("udp", w.Addr.String())
			if err != nil {
				fmt.Fprintf(stderr, "rtcprobe witness: %v\n", err)
				return exitUsage
			}
			serve = append(serve, func() error { return witness.ServeUDP(ctx, pc, report) })
		} else {
			l, err := net.Listen("tcp", w.Addr.String())
			if err != nil {
				fmt.Fprintf(stderr, "rtcprobe witness: %v\n", err)
				return exitUsage
			}
			serve = append(serve, func() error { return witness.ServeTCP(ctx, l, report) })
		}
		names = append(names, w.String())
	}
	mu.Lock()
	fmt.Fprintf(stdout, "witness listening on %s (answers audit markers only; Ctrl-C ends it)\n", strings.Join(names, ", "))
	mu.Unlock()
	errs := make(chan error, len(serve))
	for _, s := range serve {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s() }()
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		if err != nil {
			cancel()
			wg.Wait()
			fmt.Fprintf(stderr, "rtcprobe witness: %v\n", err)
			return exitInternal
		}
	}
	cancel()
	wg.Wait()
	return exitOK
}
