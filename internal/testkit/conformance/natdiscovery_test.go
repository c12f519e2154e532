package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestNATBehaviorMatchesNatdiscovery runs rtcprobe's nat.behavior and
// coturn's own RFC 5780 client, turnutils_natdiscovery, from the same
// client namespace against the same coturn (two listening IPs, the
// alternative port) behind a router that routes, masquerades, or
// masquerades with --random-fully. Each must find the mapping and
// filtering Linux's NAT has, and they must agree.
//
//	client 10.N.1.2 ── 10.N.1.1 router 10.N.2.1 ── 10.N.2.2 + 10.N.2.3 coturn
func TestNATBehaviorMatchesNatdiscovery(t *testing.T) {
	netlab.Require(t)
	natdiscovery := testenv.LookPath(t, "turnutils_natdiscovery")
	const (
		ei  = probes.EndpointIndependent
		apd = probes.AddressAndPortDependent
	)
	tests := []struct {
		name               string
		nat                string // the router's POSTROUTING target, "" for none
		mapping, filtering string
	}{
		// No NAT: the server sees the client's own address.
		{"routed", "", ei, ei},
		// Linux keeps the source port per socket whatever the destination,
		// and conntrack lets in only replies from the address and port
		// contacted.
		{"MASQUERADE", "MASQUERADE", ei, apd},
		// A random source port for every new destination.
		{"MASQUERADE --random-fully", "MASQUERADE --random-fully", apd, apd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 1 + rand.IntN(250)
			ip := func(subnet, host int) string { return fmt.Sprintf("10.%d.%d.%d", n, subnet, host) }
			client, router, server := netlab.NewNS(t, "cli"), netlab.NewNS(t, "rtr"), netlab.NewNS(t, "srv")
			netlab.Link(t, client, "eth0", netlab.CIDR(ip(1, 2), 24), router, "in0", netlab.CIDR(ip(1, 1), 24))
			netlab.Link(t, router, "out0", netlab.CIDR(ip(2, 1), 24), server, "eth0", netlab.CIDR(ip(2, 2), 24))
			server.Run(t, "ip", "addr", "add", netlab.CIDR(ip(2, 3), 24), "dev", "eth0")
			client.Run(t, "ip", "route", "add", "default", "via", ip(1, 1))
			router.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
			if tc.nat == "" {
				server.Run(t, "ip", "route", "add", ip(1, 0)+"/24", "via", ip(2, 1))
			} else {
				router.IPTables(t, "-t nat -A POSTROUTING -o out0 -j "+tc.nat)
			}
			ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", NS: server, RFC5780: true,
				ListenIPs: []string{ip(2, 2), ip(2, 3)}})

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := client.Command(ctx, natdiscovery, "-m", "-f", "-p", strconv.Itoa(ct.Port), ip(2, 2)).CombinedOutput()
			if err != nil {
				t.Fatalf("turnutils_natdiscovery: %v\n%s", err, out)
			}
			theirs := parseNatdiscovery(string(out))

			rep := parseReport(t, client.Command(ctx, binary, "--json", "-", "--checks", "nat.behavior",
				"stun:"+ip(2, 2)+":"+strconv.Itoa(ct.Port)))
			if len(rep.Checks) != 1 {
				t.Fatalf("%d results, want nat.behavior", len(rep.Checks))
			}
			r := rep.Checks[0]
			ours := map[string]string{"mapping": r.evidence("mapping"), "filtering": r.evidence("filtering")}
			t.Logf("rtcprobe: mapping %s, filtering %s (mapped %s, other %s, status %s); turnutils_natdiscovery: mapping %s, filtering %s",
				ours["mapping"], ours["filtering"], r.evidence("mapped_address"), r.evidence("other_address"), r.Status, theirs["mapping"], theirs["filtering"])
			for test, want := range map[string]string{"mapping": tc.mapping, "filtering": tc.filtering} {
				if ours[test] != want {
					t.Errorf("rtcprobe: %s %q, want %q\n%s %s", test, ours[test], want, r.Error, r.Advice)
				}
				if theirs[test] != want {
					t.Errorf("turnutils_natdiscovery: %s %q, want %q\n%s", test, theirs[test], want, out)
				}
				if ours[test] != theirs[test] {
					t.Errorf("%s: rtcprobe says %q, turnutils_natdiscovery %q", test, ours[test], theirs[test])
				}
			}
			mapped := r.evidence("mapped_address")
			if tc.nat == "" && r.evidence("nat") != "none" {
				t.Errorf("routed: nat evidence %q, mapped %s", r.evidence("nat"), mapped)
			}
			if tc.nat != "" && !strings.HasPrefix(mapped, ip(2, 1)+":") {
				t.Errorf("mapped address %q, want the router's %s", mapped, ip(2, 1))
			}
		})
	}
}

var natdiscoveryVerdict = regexp.MustCompile(`(Endpoint Independent|Address and Port Dependent|Address Dependent) (Mapping|Filtering)`)

// parseNatdiscovery reads turnutils_natdiscovery's verdict lines ("NAT
// with Address Dependent Mapping!", "No NAT! (Endpoint Independent
// Mapping)") as rtcprobe's words for each test.
func parseNatdiscovery(out string) map[string]string {
	words := map[string]string{
		"Endpoint Independent":       probes.EndpointIndependent,
		"Address Dependent":          probes.AddressDependent,
		"Address and Port Dependent": probes.AddressAndPortDependent,
	}
	got := map[string]string{}
	for _, m := range natdiscoveryVerdict.FindAllStringSubmatch(out, -1) {
		got[strings.ToLower(m[2])] = words[m[1]]
	}
	return got
}
