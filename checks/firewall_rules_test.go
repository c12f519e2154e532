package checks

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/probes"
)

func cell(kind string, tr probes.Transport, port int, o Outcome) CellOutcome {
	c := CellOutcome{Kind: kind, Transport: tr, Port: port, Outcome: o}
	switch o {
	case OutcomeOK:
		c.RTTms = 1
	case OutcomeTLS:
		c.Detail = "x509: certificate signed by unknown authority"
	case OutcomeAuth:
		c.Detail = "401 Unauthorized"
	}
	return c
}

func TestFirewallVerdict(t *testing.T) {
	const (
		ok, drop, ref, tlsf, auth, dns = OutcomeOK, OutcomeDropped, OutcomeRefused, OutcomeTLS, OutcomeAuth, OutcomeDNS
		udp, tcp, tls                  = probes.UDP, probes.TCP, probes.TLS
	)
	tests := []struct {
		name     string
		cells    []CellOutcome
		class    string
		summary  []string // substrings the summary must contain
		advice   []string // substrings the advice must contain
		noAdvice bool
		noProxy  bool // the advice must not blame an HTTP proxy
	}{
		{name: "empty", class: "none", noAdvice: true},
		{name: "everything open",
			cells: []CellOutcome{cell("STUN", udp, 3478, ok), cell("STUN", tcp, 3478, ok), cell("STUN", tls, 443, ok)},
			class: "all-open", summary: []string{"every tested transport"}, noAdvice: true},
		{name: "udp dropped, tcp and tls work",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tcp, 3478, ok), cell("STUN", tls, 443, ok)},
			class: "udp-blocked",
			summary: []string{"UDP to 198.51.100.7:3478 is silently dropped; open: STUN/TCP 3478, STUN/TLS 443 →",
				"only via TURN over TCP/TLS on 3478,443"},
			advice: []string{"Use TURN over TCP/TLS", "permit outbound UDP to 198.51.100.7:3478", "UDP 49152-65535 (the usual relay range)"}},
		{name: "relay ports seen are the ones advised",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop), cell("TURN", udp, 3478, drop),
				{Kind: "TURN", Transport: tcp, Port: 3478, Outcome: ok, RelayPorts: []int{50010, 50990}}},
			class:  "udp-blocked",
			advice: []string{"UDP 50010-50990 (the relayed ports seen"}},
		{name: "only TLS on 443 passes",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tcp, 3478, drop), cell("STUN", udp, 443, drop),
				cell("STUN", tcp, 443, drop), cell("STUN", tls, 443, ok)},
			class:   "tls-443-only",
			summary: []string{"only via TURN over TLS on 443"},
			advice:  []string{"Use TURN over TLS", "turn(s): URIs on 443", "UDP to 198.51.100.7:3478,443"}},
		{name: "only TLS on 5349 passes",
			cells:   []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tcp, 3478, drop), cell("STUN", tls, 5349, ok)},
			class:   "udp-blocked",
			summary: []string{"only via TURN over TLS on 5349"},
			advice:  []string{"Use TURN over TLS", "turn(s): URIs on 5349"}},
		{name: "TLS on 443 and 5349 pass",
			cells:   []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tls, 443, ok), cell("STUN", tls, 5349, ok)},
			class:   "udp-blocked",
			summary: []string{"only via TURN over TLS on 443,5349"}},
		{name: "relay ports out of order",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop), cell("TURN", udp, 3478, drop),
				{Kind: "TURN", Transport: tcp, Port: 3478, Outcome: ok, RelayPorts: []int{50990, 50010}},
				{Kind: "TURN", Transport: tls, Port: 443, Outcome: ok, RelayPorts: []int{50500}}},
			class:  "udp-blocked",
			advice: []string{"UDP 50010-50990 (the relayed ports seen"}},
		{name: "udp answered with a STUN error",
			cells: []CellOutcome{{Kind: "STUN", Transport: udp, Port: 3478, Outcome: OutcomeAnswered, Detail: "error 420 Unknown Attribute"},
				cell("STUN", tcp, 3478, drop)},
			class:   "udp-open",
			summary: []string{"UDP to 198.51.100.7 works (3478)", "not open: STUN/TCP 3478 dropped"}},
		{name: "every path answered with an error",
			cells: []CellOutcome{{Kind: "STUN", Transport: udp, Port: 3478, Outcome: OutcomeAnswered, Detail: "error 420 Unknown Attribute"},
				{Kind: "STUN", Transport: tcp, Port: 3478, Outcome: OutcomeAnswered, Detail: "not a STUN answer: garbage"}},
			class: "all-open", noAdvice: true},
		{name: "udp refused with ICMP, tcp works",
			cells:   []CellOutcome{cell("STUN", udp, 3478, ref), cell("STUN", tcp, 3478, ok)},
			class:   "udp-blocked",
			summary: []string{"is refused by the host (ICMP port unreachable)", "only via TURN over TCP on 3478"},
			advice:  []string{"refuses UDP on 3478", "nothing listens on UDP", "No firewall on the path"}},
		{name: "udp partly dropped partly refused",
			cells:   []CellOutcome{cell("STUN", udp, 3478, ref), cell("STUN", udp, 443, drop), cell("STUN", tls, 443, ok)},
			class:   "tls-443-only",
			summary: []string{"is blocked"}},
		{name: "everything dropped",
			cells:   []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tcp, 3478, drop)},
			class:   "all-dropped",
			summary: []string{"silently dropped"},
			advice:  []string{"Permit outbound UDP 3478 and TCP 443 to 198.51.100.7"}},
		{name: "everything refused",
			cells:  []CellOutcome{cell("STUN", udp, 3478, ref), cell("STUN", tcp, 3478, ref)},
			class:  "all-refused",
			advice: []string{"nothing accepts"}},
		{name: "mix of dropped and refused",
			cells:  []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tcp, 3478, ref)},
			class:  "all-blocked",
			advice: []string{"dropped ports are filtered silently"}},
		{name: "tls fails, rest dropped",
			cells:  []CellOutcome{cell("STUN", udp, 3478, drop), cell("STUN", tls, 5349, tlsf)},
			class:  "all-blocked",
			advice: []string{"TLS to 198.51.100.7:5349 fails", "unknown authority"}},
		{name: "only tls tested and it fails",
			cells:  []CellOutcome{cell("STUN", tls, 5349, tlsf)},
			class:  "tls-failing",
			advice: []string{"fix the certificate"}},
		{name: "udp works, tcp dropped",
			cells:   []CellOutcome{cell("STUN", udp, 3478, ok), cell("STUN", tcp, 3478, drop)},
			class:   "udp-open",
			summary: []string{"UDP to 198.51.100.7 works (3478)", "not open: STUN/TCP 3478 dropped"},
			advice:  []string{"only as a fallback"}},
		{name: "udp works, certificate bad",
			cells:  []CellOutcome{cell("STUN", udp, 3478, ok), cell("STUN", tls, 5349, tlsf)},
			class:  "udp-open",
			advice: []string{"TLS to 198.51.100.7:5349 fails (x509: certificate signed by unknown authority)"}},
		{name: "auth failure still means open",
			cells:  []CellOutcome{cell("TURN", udp, 3478, auth), cell("STUN", udp, 3478, ok)},
			class:  "all-open",
			advice: []string{"TURN/UDP 3478 reached the server (path open)", "fix the username and password"}},
		{name: "no udp in the matrix",
			cells:  []CellOutcome{cell("STUN", tls, 5349, ok), cell("STUN", tcp, 443, drop)},
			class:  "no-udp-tested",
			advice: []string{"port 3478"}},
		{name: "proxy refuses CONNECT to 3478",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop),
				{Kind: "STUN", Transport: tcp, Port: 3478, Outcome: ref, Detail: "proxy refused CONNECT: 403 Access violation", ProxyRefused: "403 Access violation"},
				cell("STUN", tls, 443, ok)},
			class:  "tls-443-only",
			advice: []string{"The HTTP proxy refuses CONNECT to port 3478 (proxy refused CONNECT: 403 Access violation)"}},
		{name: "refused, not by a proxy, in words that say proxy",
			cells: []CellOutcome{cell("STUN", udp, 3478, drop),
				{Kind: "STUN", Transport: tcp, Port: 3478, Outcome: ref, Detail: "proxy refused CONNECT: 403 (a server's own words)"},
				cell("STUN", tls, 443, ok)},
			class:   "tls-443-only",
			noProxy: true},
		{name: "name does not resolve",
			cells:  []CellOutcome{cell("STUN", udp, 3478, dns), cell("STUN", tcp, 3478, dns)},
			class:  "dns",
			advice: []string{"DNS resolver"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := FirewallVerdict("198.51.100.7", tt.cells)
			if v.Class != tt.class {
				t.Errorf("class = %q, want %q (summary %q)", v.Class, tt.class, v.Summary)
			}
			if strings.Contains(v.Summary, " ok works") {
				t.Errorf("summary %q reads \"ok works\"", v.Summary)
			}
			for _, s := range tt.summary {
				if !strings.Contains(v.Summary, s) {
					t.Errorf("summary %q lacks %q", v.Summary, s)
				}
			}
			for _, s := range tt.advice {
				if !strings.Contains(v.Advice, s) {
					t.Errorf("advice %q lacks %q", v.Advice, s)
				}
			}
			if tt.noProxy && strings.Contains(v.Advice, "HTTP proxy") {
				t.Errorf("advice %q blames a proxy no cell went through", v.Advice)
			}
			if tt.noAdvice && v.Advice != "" {
				t.Errorf("advice = %q, want none", v.Advice)
			}
		})
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		spec    string
		want    string // "port:tr+tr port:tr"
		wantErr string
	}{
		{spec: "", wantErr: `empty entry`},
		{spec: "3478", want: "3478:udp+tcp"},
		{spec: "3478,5349,443", want: "3478:udp+tcp 5349:tls 443:udp+tcp+tls"},
		{spec: " 443/tls , 8443/UDP", want: "443:tls 8443:udp"},
		{spec: "0", wantErr: `"0"`},
		{spec: "70000", wantErr: `"70000"`},
		{spec: "3478,abc", wantErr: `"abc"`},
		{spec: "443/sctp", wantErr: `"443/sctp": transport`},
		{spec: ",", wantErr: `empty entry`},
		{spec: "3478,,443", wantErr: `empty entry`},
		{spec: "+80", wantErr: `"+80"`},
		{spec: "-1", wantErr: `"-1"`},
	}
	for _, tt := range tests {
		got, err := config.ParsePorts(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("config.ParsePorts(%q) error = %v, want one containing %s", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("config.ParsePorts(%q): %v", tt.spec, err)
			continue
		}
		var parts []string
		for _, p := range got {
			var trs []string
			for _, tr := range p.Transports {
				trs = append(trs, string(tr))
			}
			parts = append(parts, fmt.Sprintf("%d:%s", p.Port, strings.Join(trs, "+")))
		}
		if s := strings.Join(parts, " "); s != tt.want {
			t.Errorf("config.ParsePorts(%q) = %q, want %q", tt.spec, s, tt.want)
		}
	}
}

// firewall_ports in a config file's options reach the matrix; a bad entry
// is an error naming file, line and value.
func TestFirewallPortsFromConfig(t *testing.T) {
	parse := func(file, text string) (*config.Config, error) {
		return config.Parse(file, []byte(text), config.Env{Catalog: Entries(Catalog()), LookupEnv: func(string) (string, bool) { return "", false }})
	}
	cfg, err := parse("good.yml", "version: 1\noptions:\n  firewall_ports: [\"3478\", \"443/tls\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(Catalog(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	o, err := config.Layered(r.Layers...)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.FirewallPorts) != 2 || o.FirewallPorts[0].Port != 3478 || o.FirewallPorts[1].Port != 443 ||
		len(o.FirewallPorts[1].Transports) != 1 || o.FirewallPorts[1].Transports[0] != probes.TLS {
		t.Errorf("firewall_ports = %+v", o.FirewallPorts)
	}
	if _, err := parse("bad.yml", "version: 1\noptions:\n  firewall_ports: [\"3478\", \"99999\"]\n"); err == nil || !strings.Contains(err.Error(), "bad.yml:3") || !strings.Contains(err.Error(), "firewall_ports") {
		t.Errorf("bad firewall_ports: %v", err)
	}
}

// TestClassifyCell maps each kind of probe result to its outcome.
func TestClassifyCell(t *testing.T) {
	srv, err := probes.ParseServer("stun:198.51.100.7:3478")
	if err != nil {
		t.Fatal(err)
	}
	connected := map[string]float64{"connect_ms": 1}
	tests := []struct {
		name    string
		tr      probes.Transport
		m       probes.Measurement
		outcome Outcome
		detail  string
	}{
		{"answer", probes.UDP, probes.Measurement{Metrics: map[string]float64{"rtt_median_ms": 12}}, OutcomeOK, ""},
		{"silence", probes.UDP, probes.Failed(&probes.TimeoutError{Transport: probes.UDP, After: 2 * time.Second}), OutcomeDropped, "no answer in 2s"},
		{"ICMP", probes.UDP, probes.Failed(&probes.RefusedError{Transport: probes.UDP}), OutcomeRefused, "ICMP port unreachable"},
		{"RST", probes.TCP, probes.Failed(&probes.RefusedError{Transport: probes.TCP}), OutcomeRefused, "TCP RST"},
		{"certificate", probes.TLS, probes.Failed(&probes.TLSError{Err: errors.New("x509: certificate has expired")}), OutcomeTLS, "x509: certificate has expired"},
		{"TLS stalls", probes.TLS, probes.Failed(&probes.TimeoutError{Stage: probes.StageTLS}), OutcomeTLS, "handshake stalled"},
		{"401", probes.UDP, probes.Failed(&probes.STUNError{Code: 401, Reason: "Unauthorized"}), OutcomeAuth, "401 Unauthorized"},
		{"441", probes.TCP, probes.Failed(&probes.STUNError{Code: 441, Reason: "Wrong Credentials"}), OutcomeAuth, "441"},
		{"other STUN error", probes.UDP, probes.Failed(&probes.STUNError{Code: 420}), OutcomeAnswered, "error 420"},
		{"not STUN", probes.UDP, probes.Failed(&probes.ProtocolError{Err: errors.New("garbage")}), OutcomeAnswered, "not a STUN answer"},
		{"connected, silent", probes.TCP, probes.Measurement{Metrics: connected, Err: &probes.TimeoutError{}}, OutcomeNoSTUN, "TCP connected"},
		{"connected, closed", probes.TCP, probes.Measurement{Metrics: connected, Err: io.EOF}, OutcomeNoSTUN, "EOF"},
		{"proxy refuses", probes.TCP, probes.Failed(&probes.ProxyError{Status: "403 Access violation"}), OutcomeRefused, "proxy refused CONNECT: 403"},
		{"DNS", probes.UDP, probes.Failed(&probes.DNSError{Host: "x.test", Err: errors.New("no such host")}), OutcomeDNS, "x.test"},
		{"unsupported", probes.TLS, probes.Failed(probes.ErrUnsupported), OutcomeSkipped, ""},
		{"anything else", probes.UDP, probes.Failed(errors.New("boom")), OutcomeError, "boom"},
	}
	proxied := classifyCell(probes.CellResult{Cell: probes.Cell{Kind: "STUN", Target: probes.Target{Server: srv, Transport: probes.TCP}},
		Measurement: probes.Failed(&probes.ProxyError{Status: "403 Access violation"})})
	if proxied.ProxyRefused != "403 Access violation" {
		t.Errorf("a proxy's refusal: %+v, want its status as ProxyRefused", proxied)
	}
	relayed := classifyCell(probes.CellResult{Cell: probes.Cell{Kind: "TURN", Target: probes.Target{Server: srv, Transport: probes.UDP}},
		Measurement: probes.Measurement{Metrics: map[string]float64{"rtt_median_ms": 3}, Summary: &probes.TURNSummary{
			Relayed: []netip.AddrPort{netip.MustParseAddrPort("198.51.100.7:50010"), netip.MustParseAddrPort("[2001:db8::7]:50990")}}}})
	if !slices.Equal(relayed.RelayPorts, []int{50010, 50990}) {
		t.Errorf("a TURN cell's relay ports: %v, want the relayed addresses' [50010 50990]", relayed.RelayPorts)
	}
	for _, tt := range tests {
		c := classifyCell(probes.CellResult{Cell: probes.Cell{Kind: "STUN", Name: "STUN/" + tt.tr.Upper() + " 3478", Target: probes.Target{Server: srv, Transport: tt.tr}}, Measurement: tt.m})
		if c.Outcome != tt.outcome || !strings.Contains(c.Detail, tt.detail) || c.Kind != "STUN" || c.Port != 3478 {
			t.Errorf("%s: %+v, want %s with %q", tt.name, c, tt.outcome, tt.detail)
		}
	}
}

// TestSettleICMP: a UDP port that refused one probe refused them all; the
// probes whose ICMP answer was rate-limited do not read as dropped. Only
// an ICMP answer to UDP settles UDP: a TCP RST on the same port says
// nothing about UDP there, and another port's answer is that port's.
func TestSettleICMP(t *testing.T) {
	const (
		udp, tcp, tls  = probes.UDP, probes.TCP, probes.TLS
		drop, ref, rej = OutcomeDropped, OutcomeRefused, OutcomeRejected
	)
	tests := []struct {
		name        string
		cells       []CellOutcome
		want        []Outcome
		rateLimited []int // cells whose detail must say their ICMP answer was rate-limited
	}{
		{name: "ICMP to one UDP probe settles the port",
			cells: []CellOutcome{cell("STUN", udp, 3478, ref), cell("TURN", udp, 3478, drop), cell("STUN", udp, 5000, drop), cell("STUN", tcp, 3478, drop)},
			want:  []Outcome{ref, ref, drop, drop}, rateLimited: []int{1}},
		{name: "TCP RST leaves dropped UDP dropped",
			cells: []CellOutcome{cell("STUN", tcp, 3478, ref), cell("STUN", udp, 3478, drop), cell("TURN", udp, 3478, drop)},
			want:  []Outcome{ref, drop, drop}},
		{name: "TLS refused leaves dropped UDP dropped",
			cells: []CellOutcome{cell("STUN", tls, 443, ref), cell("STUN", udp, 443, drop)},
			want:  []Outcome{ref, drop}},
		{name: "a rejected TCP port leaves dropped UDP dropped",
			cells: []CellOutcome{{Kind: "STUN", Transport: tcp, Port: 3478, Outcome: rej, RejectedBy: "192.0.2.1", Detail: "ICMP communication administratively prohibited from 192.0.2.1"},
				cell("STUN", udp, 3478, drop)},
			want: []Outcome{rej, drop}},
		{name: "ICMP on another UDP port leaves this one dropped",
			cells: []CellOutcome{cell("STUN", udp, 5000, ref), cell("STUN", udp, 3478, drop)},
			want:  []Outcome{ref, drop}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settleICMP(tt.cells)
			for i, c := range tt.cells {
				if c.Outcome != tt.want[i] {
					t.Errorf("%s: %s (%s), want %s", c.Name(), c.Outcome, c.Detail, tt.want[i])
				}
			}
			for _, i := range tt.rateLimited {
				if !strings.Contains(tt.cells[i].Detail, "rate-limited") {
					t.Errorf("%s: detail %q does not say why", tt.cells[i].Name(), tt.cells[i].Detail)
				}
			}
		})
	}
}

// TestSettleICMPDetails: an ICMP error told to one socket by the errno
// alone takes the details another probe of the port read, and a silent
// probe of a rejecting port is rejected by the same firewall.
func TestSettleICMPDetails(t *testing.T) {
	withDetail := func(c CellOutcome, detail, by string) CellOutcome {
		c.Detail, c.RejectedBy, c.ICMPKnown = detail, by, strings.HasPrefix(detail, "ICMP ")
		return c
	}
	cells := []CellOutcome{
		withDetail(cell("STUN", probes.UDP, 3478, OutcomeUnreachable), "write udp …: network is unreachable", ""),
		withDetail(cell("TURN", probes.UDP, 3478, OutcomeUnreachable), "ICMP net unreachable from 192.0.2.9", ""),
		withDetail(cell("STUN", probes.UDP, 5000, OutcomeRejected), "ICMP communication administratively prohibited from 192.0.2.1", "192.0.2.1"),
		cell("TURN", probes.UDP, 5000, OutcomeDropped),
	}
	settleICMP(cells)
	if cells[0].Detail != "ICMP net unreachable from 192.0.2.9" {
		t.Errorf("errno-only cell: %q", cells[0].Detail)
	}
	if cells[3].Outcome != OutcomeRejected || cells[3].RejectedBy != "192.0.2.1" || !strings.Contains(cells[3].Detail, "rate-limited") {
		t.Errorf("silent cell of a rejecting port: %+v", cells[3])
	}
}

// TestMatrixMetrics: the firewall matrix's metrics from its judged cells.
// The transport metrics are set only for transports the matrix tested;
// rtt_best_ms is the fastest ok cell's, absent when no cell was ok.
func TestMatrixMetrics(t *testing.T) {
	const udp, tcp, tls = probes.UDP, probes.TCP, probes.TLS
	okIn := func(kind string, tr probes.Transport, port int, rtt float64) CellOutcome {
		return CellOutcome{Kind: kind, Transport: tr, Port: port, Outcome: OutcomeOK, RTTms: rtt}
	}
	tests := []struct {
		name  string
		cells []CellOutcome
		want  map[string]float64
	}{
		{name: "udp dropped, tcp and tls open",
			cells: []CellOutcome{cell("STUN", udp, 3478, OutcomeDropped), okIn("STUN", tcp, 3478, 30), okIn("STUN", tls, 443, 12), okIn("TURN", tcp, 3478, 20)},
			want: map[string]float64{"cells": 4, "cells_ok": 3, "cells_dropped": 1, "cells_refused": 0, "cells_tls_failed": 0, "cells_auth_failed": 0,
				"paths_open": 3, "udp_open": 0, "tcp_open": 1, "tls_open": 1, "rtt_best_ms": 12}},
		{name: "no UDP cell",
			cells: []CellOutcome{okIn("STUN", tls, 5349, 7), cell("STUN", tcp, 443, OutcomeRefused)},
			want: map[string]float64{"cells": 2, "cells_ok": 1, "cells_dropped": 0, "cells_refused": 1, "cells_tls_failed": 0, "cells_auth_failed": 0,
				"paths_open": 1, "tcp_open": 0, "tls_open": 1, "rtt_best_ms": 7}},
		{name: "answered and auth failure are open",
			cells: []CellOutcome{{Kind: "STUN", Transport: udp, Port: 3478, Outcome: OutcomeAnswered, Detail: "error 420"},
				cell("TURN", udp, 3478, OutcomeAuth), cell("STUN", tcp, 3478, OutcomeDropped), cell("STUN", tls, 5349, OutcomeTLS)},
			want: map[string]float64{"cells": 4, "cells_ok": 0, "cells_dropped": 1, "cells_refused": 0, "cells_tls_failed": 1, "cells_auth_failed": 1,
				"paths_open": 2, "udp_open": 1, "tcp_open": 0, "tls_open": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m probes.Measurement
			matrixMetrics(&m, tt.cells)
			if !maps.Equal(m.Metrics, tt.want) {
				t.Errorf("metrics\n got %v\nwant %v", m.Metrics, tt.want)
			}
		})
	}
}
