package precall

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/probes"
)

// hostileOffer is a real pion offer with n extra host candidates, one for
// each of targets, in its first media section.
func hostileOffer(t *testing.T, targets []*net.UDPAddr) string {
	t.Helper()
	api, err := probes.NewAPI(probes.APIConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.CreateDataChannel("echo", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its own candidates are left out: only the targets are offered.
	var b strings.Builder
	for _, line := range strings.Split(offer.SDP, "\r\n") {
		if line == "" || strings.HasPrefix(line, "a=candidate") {
			continue
		}
		b.WriteString(line + "\r\n")
		if strings.HasPrefix(line, "a=ice-pwd") {
			for i, a := range targets {
				fmt.Fprintf(&b, "a=candidate:%d 1 udp 2122260223 %s %d typ host\r\n", i, a.IP, a.Port)
			}
		}
	}
	return b.String()
}

// udpTargets listens on n UDP sockets spread over 127.0.0.2-127.0.0.7 and
// counts the datagrams each receives.
type udpTargets struct {
	addrs   []*net.UDPAddr
	packets []atomic.Int64
	wg      sync.WaitGroup
}

func listenTargets(t *testing.T, n int) *udpTargets {
	t.Helper()
	u := &udpTargets{packets: make([]atomic.Int64, n)}
	var conns []net.PacketConn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
		u.wg.Wait()
	})
	for i := range n {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.%d:0", 2+i%6))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		u.addrs = append(u.addrs, c.LocalAddr().(*net.UDPAddr))
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					return
				}
				u.packets[i].Add(1)
			}
		}()
	}
	return u
}

// hit counts the targets that received something, and all they received.
func (u *udpTargets) hit() (ports int, packets int64) {
	for i := range u.packets {
		if n := u.packets[i].Load(); n > 0 {
			ports++
			packets += n
		}
	}
	return ports, packets
}

var candidateAddr = regexp.MustCompile(`(?m)^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+`)

// TestOfferCandidatesBounded: an anonymous page's offer of 600 candidates,
// all on loopback ports where this test listens, through the pre-call API.
// With the default config the server's peer sends none of them a packet
// (loopback is refused) and the refusals are counted on /metrics; with
// loopback allowed it checks at most 16 of them; with peer_addresses its
// answer offers only the named address.
func TestOfferCandidatesBounded(t *testing.T) {
	const n = 600
	for _, tc := range []struct {
		name     string
		fc       fixtureConfig
		wantHit  bool
		wantAddr string
	}{
		{name: "default", fc: fixtureConfig{noConfig: true}},
		{name: "loopback allowed", fc: fixtureConfig{config: mustConfig(t, `version: 1
precall:
  peer_allowed_networks: [127.0.0.0/8]
  peer_addresses: [127.0.0.1]
`)}, wantHit: true, wantAddr: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			targets := listenTargets(t, n)
			f := startFixture(t, tc.fc)
			s := f.session(t)
			task := -1
			for _, tk := range s.Tasks {
				if tk.Check == "browser.interop" && tk.Target == "all candidates" {
					task = tk.ID
				}
			}
			offer := hostileOffer(t, targets.addrs)
			if len(offer) < 30<<10 {
				t.Fatalf("the offer is %d bytes", len(offer))
			}
			r := f.do(t, "POST", fmt.Sprintf("api/precall/signal/%d", task), strings.NewReader(offer), tokenHeader(s), "Content-Type: application/sdp")
			if r.code != http.StatusOK {
				t.Fatalf("signal: %d %s", r.code, r.body)
			}
			if tc.wantAddr != "" {
				for _, m := range candidateAddr.FindAllStringSubmatch(r.body, -1) {
					if m[1] != tc.wantAddr {
						t.Errorf("the answer offers %s, want only %s: %s", m[1], tc.wantAddr, m[0])
					}
				}
			}
			// pion checks a pair up to 7 times, 200 ms apart: by 4 s every
			// check it would send has gone (the first arrive within 1 s).
			deadline := time.Now().Add(15 * time.Second)
			for tc.wantHit && time.Now().Before(deadline) {
				if ports, _ := targets.hit(); ports > 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(4 * time.Second)
			ports, packets := targets.hit()
			t.Logf("%d of %d loopback ports got %d packets", ports, n, packets)
			switch {
			case !tc.wantHit && ports > 0:
				t.Errorf("the server's peer sent %d packets to %d loopback ports, want none", packets, ports)
			case tc.wantHit && (ports == 0 || ports > maxCallCandidates):
				t.Errorf("the server's peer sent to %d ports, want 1 to %d", ports, maxCallCandidates)
			}
			m := f.do(t, "GET", "metrics", nil).body
			want := fmt.Sprintf(`rtcprobe_precall_peer_candidates_total{result="address"} %d`, n)
			if tc.wantHit {
				want = fmt.Sprintf(`rtcprobe_precall_peer_candidates_total{result="budget"} %d`, n-maxCallCandidates)
			}
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		})
	}
}

func mustConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yml", []byte(yml), config.Env{Catalog: checks.Entries(checks.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestOfferDisguisedCandidates: through the pre-call API with the default
// config, an offer's candidates in IPv6 forms of loopback, private and
// link-local IPv4 addresses (NAT64, IPv4-compatible, 6to4, SIIT) and in
// ranges that are not globally reachable (site-local, discard-only,
// documentation, Teredo) are all dropped and counted; the call is still
// answered.
func TestOfferDisguisedCandidates(t *testing.T) {
	forms := []string{"64:ff9b::a00:5", "64:ff9b:1::a9fe:a9fe", "64:ff9b::7f00:1", "::7f00:1", "2002:7f00:1::1",
		"::ffff:0:7f00:1", "fec0::1", "100::1", "2001:db8::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.1"}
	f := startFixture(t, fixtureConfig{noConfig: true})
	s := f.session(t)
	task := -1
	for _, tk := range s.Tasks {
		if tk.Check == "browser.interop" && tk.Target == "all candidates" {
			task = tk.ID
		}
	}
	var targets []*net.UDPAddr
	for i, a := range forms {
		targets = append(targets, &net.UDPAddr{IP: net.ParseIP(a), Port: 4000 + i})
	}
	offer := hostileOffer(t, targets)
	for _, a := range forms {
		if !strings.Contains(offer, " "+net.ParseIP(a).String()+" ") {
			t.Fatalf("the offer lacks %s:\n%s", a, offer)
		}
	}
	r := f.do(t, "POST", fmt.Sprintf("api/precall/signal/%d", task), strings.NewReader(offer), tokenHeader(s), "Content-Type: application/sdp")
	if r.code != http.StatusOK {
		t.Fatalf("signal: %d %s", r.code, r.body)
	}
	m := f.do(t, "GET", "metrics", nil).body
	if want := fmt.Sprintf(`rtcprobe_precall_peer_candidates_total{result="address"} %d`, len(forms)); !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "rtcprobe_precall_peer_candidates_total"))
	}
}
