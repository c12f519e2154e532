package probes_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5/vnet"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/hostile"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

var vnetBuild sync.Mutex

// natLab is a pion vnet: an RFC 5780 responder on two "public" addresses
// (TEST-NET-3) and a client behind a NAT of the given type, or directly
// on the WAN when nat is nil. Nothing here touches a real socket.
func natLab(t *testing.T, nat *vnet.NATType) (client *vnet.Net, server probes.Target) {
	t.Helper()
	// vnet hands out MAC addresses from an unguarded global counter:
	// build one lab at a time, run them in parallel.
	vnetBuild.Lock()
	defer vnetBuild.Unlock()
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "203.0.113.0/24", LoggerFactory: logs})
	if err != nil {
		t.Fatal(err)
	}
	srvNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"203.0.113.10", "203.0.113.11"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(srvNet); err != nil {
		t.Fatal(err)
	}
	client, err = vnet.NewNet(&vnet.NetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if nat == nil {
		if err := wan.AddNet(client); err != nil {
			t.Fatal(err)
		}
	} else {
		lan, err := vnet.NewRouter(&vnet.RouterConfig{
			StaticIPs: []string{"203.0.113.100"}, CIDR: "10.0.0.0/24", NATType: nat, LoggerFactory: logs})
		if err != nil {
			t.Fatal(err)
		}
		if err := lan.AddNet(client); err != nil {
			t.Fatal(err)
		}
		if err := wan.AddRouter(lan); err != nil {
			t.Fatal(err)
		}
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	resp, err := iceserver.StartNATResponder(srvNet, "203.0.113.10", "203.0.113.11")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Close() })
	return client, probes.Target{Server: resp.Server(), Transport: probes.UDP}
}

// TestNATBehaviorVNet checks every mapping × filtering combination pion's
// vnet NAT implements against what discovery reports.
func TestNATBehaviorVNet(t *testing.T) {
	testenv.CheckGoroutines(t)
	kinds := []struct {
		vnet  vnet.EndpointDependencyType
		want  string
		level float64 // mapping_level and filtering_level
	}{
		{vnet.EndpointIndependent, probes.EndpointIndependent, 1},
		{vnet.EndpointAddrDependent, probes.AddressDependent, 2},
		{vnet.EndpointAddrPortDependent, probes.AddressAndPortDependent, 3},
	}
	for _, mapping := range kinds {
		for _, filtering := range kinds {
			t.Run(fmt.Sprintf("mapping=%s/filtering=%s", mapping.want, filtering.want), func(t *testing.T) {
				t.Parallel()
				client, target := natLab(t, &vnet.NATType{MappingBehavior: mapping.vnet, FilteringBehavior: filtering.vnet})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				m := probes.NATBehavior(ctx, target, probes.NATConfig{Net: client, RequestTimeout: 100 * time.Millisecond})
				if m.Err != nil {
					t.Fatalf("error: %v", m.Err)
				}
				if got := evidence(m, "mapping"); got != mapping.want {
					t.Errorf("mapping = %q, want %q", got, mapping.want)
				}
				if got := evidence(m, "filtering"); got != filtering.want {
					t.Errorf("filtering = %q, want %q", got, filtering.want)
				}
				if got, ok := m.Metrics["mapping_level"]; !ok || got != mapping.level {
					t.Errorf("mapping_level = %v (set %v), want %v", got, ok, mapping.level)
				}
				if got, ok := m.Metrics["filtering_level"]; !ok || got != filtering.level {
					t.Errorf("filtering_level = %v (set %v), want %v", got, ok, filtering.level)
				}
				if m.Metrics["nat_present"] != 1 || !strings.HasPrefix(evidence(m, "mapped_address"), "203.0.113.100:") {
					t.Errorf("NAT not seen: nat_present=%v mapped=%q", m.Metrics["nat_present"], evidence(m, "mapped_address"))
				}
				if got := evidence(m, "other_address"); !strings.HasPrefix(got, "203.0.113.11:") {
					t.Errorf("other_address = %q", got)
				}
			})
		}
	}
}

func TestNATBehaviorNoNAT(t *testing.T) {
	client, target := natLab(t, nil)
	m := probes.NATBehavior(context.Background(), target, probes.NATConfig{Net: client, RequestTimeout: 100 * time.Millisecond})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if evidence(m, "nat") != "none" || m.Metrics["nat_present"] != 0 || evidence(m, "mapping") != probes.EndpointIndependent {
		t.Errorf("want no NAT, endpoint-independent; got %v %v", m.Evidence, m.Metrics)
	}
	if evidence(m, "filtering") != probes.EndpointIndependent {
		t.Errorf("filtering = %q, want endpoint-independent (nothing filters)", evidence(m, "filtering"))
	}
}

// TestNATBehaviorLoopback runs discovery on real sockets against the
// embedded responder on 127.0.0.1 and 127.0.0.2, against a STUN server
// without RFC 5780 (unsupported, so skip), and a socket that never
// answers (timeout).
func TestNATBehaviorLoopback(t *testing.T) {
	testenv.CheckGoroutines(t)
	resp, err := iceserver.StartNATResponder(nil, "127.0.0.1", "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Close() })
	ctx := context.Background()
	m := probes.NATBehavior(ctx, probes.Target{Server: resp.Server(), Transport: probes.UDP}, probes.NATConfig{})
	if m.Err != nil || evidence(m, "nat") != "none" || evidence(m, "filtering") != probes.EndpointIndependent ||
		!strings.HasPrefix(evidence(m, "other_address"), "127.0.0.2:") {
		t.Errorf("loopback responder: err=%v evidence=%v", m.Err, m.Evidence)
	}

	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	m = probes.NATBehavior(ctx, probes.Target{Server: srv.Servers()[0], Transport: probes.UDP}, probes.NATConfig{})
	if !errors.Is(m.Err, probes.ErrUnsupported) || !strings.Contains(m.Err.Error(), "OTHER-ADDRESS") {
		t.Errorf("server without RFC 5780: err = %v, want unsupported naming OTHER-ADDRESS", m.Err)
	}

	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	s, err := probes.ParseServer("stun:" + silent.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	m = probes.NATBehavior(ctx, probes.Target{Server: s, Transport: probes.UDP}, probes.NATConfig{RequestTimeout: 50 * time.Millisecond})
	var te *probes.TimeoutError
	if !errors.As(m.Err, &te) {
		t.Errorf("silent server: err = %v, want a timeout", m.Err)
	}
}

// fakeRFC5780 is a STUN server that claims RFC 5780 support by sending
// OTHER-ADDRESS other, yet answers everything from its one socket,
// ignoring CHANGE-REQUEST: the servers that make discovery inconclusive.
// With onChange set, a request with CHANGE-REQUEST gets no answer and
// onChange is called instead.
func fakeRFC5780(t *testing.T, other func(self *net.UDPAddr) *net.UDPAddr, onChange func()) probes.Target {
	t.Helper()
	s, err := probes.ParseServer("stun:" + hostile.ChangeIgnorer(t, other, onChange).String())
	if err != nil {
		t.Fatal(err)
	}
	return probes.Target{Server: s, Transport: probes.UDP}
}

func TestNATBehaviorInconclusive(t *testing.T) {
	testenv.CheckGoroutines(t)
	tests := []struct {
		name               string
		other              func(self *net.UDPAddr) *net.UDPAddr
		mapping, filtering string
	}{
		{name: "OTHER-ADDRESS on the same IP",
			other:     func(self *net.UDPAddr) *net.UDPAddr { return &net.UDPAddr{IP: self.IP, Port: self.Port + 1} },
			mapping:   "inconclusive: OTHER-ADDRESS 127.0.0.1:",
			filtering: "inconclusive: needs the server's OTHER-ADDRESS"},
		{name: "CHANGE-REQUEST ignored",
			other: func(self *net.UDPAddr) *net.UDPAddr {
				return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: self.Port + 1}
			},
			mapping:   probes.EndpointIndependent, // no NAT on loopback: nothing to compare
			filtering: "inconclusive: the server ignored CHANGE-REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := probes.NATBehavior(context.Background(), fakeRFC5780(t, tt.other, nil), probes.NATConfig{RequestTimeout: 50 * time.Millisecond})
			if m.Err != nil {
				t.Fatal(m.Err)
			}
			if got := evidence(m, "mapping"); !strings.HasPrefix(got, tt.mapping) {
				t.Errorf("mapping = %q, want %q…", got, tt.mapping)
			}
			if got := evidence(m, "filtering"); !strings.HasPrefix(got, tt.filtering) {
				t.Errorf("filtering = %q, want %q…", got, tt.filtering)
			}
		})
	}
}

// TestNATBehaviorFilteringCutShort: the deadline expires while the
// filtering test waits for the answers CHANGE-REQUEST asks for. Silence
// cut short is no evidence of a filter: the test is inconclusive, not
// address-and-port-dependent. The context ends the moment the server sees
// the first CHANGE-REQUEST, so no timing decides the outcome.
func TestNATBehaviorFilteringCutShort(t *testing.T) {
	testenv.CheckGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other := func(self *net.UDPAddr) *net.UDPAddr {
		return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: self.Port + 1}
	}
	m := probes.NATBehavior(ctx, fakeRFC5780(t, other, cancel), probes.NATConfig{RequestTimeout: 5 * time.Second})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if got := evidence(m, "mapping"); got != probes.EndpointIndependent {
		t.Errorf("mapping = %q, want %q (answered before the deadline)", got, probes.EndpointIndependent)
	}
	if got := evidence(m, "filtering"); got != "inconclusive: the deadline expired before the tests finished" {
		t.Errorf("filtering = %q, want inconclusive: the deadline expired", got)
	}
	if v, ok := m.Metrics["filtering_level"]; ok {
		t.Errorf("filtering_level = %v, want none for an inconclusive test", v)
	}
	sum, ok := m.Summary.(*probes.NATSummary)
	if !ok || sum.Filtering != "" || sum.FilteringInconclusive == nil {
		t.Errorf("summary = %+v, want filtering inconclusive", m.Summary)
	}
}

// TestNATBehaviorSaysWhatWasAnswered: error answers, truncated answers and
// answers with a bad address family are what the server said, not "no
// response".
func TestNATBehaviorSaysWhatWasAnswered(t *testing.T) {
	testenv.CheckGoroutines(t)
	errorAnswer := func(code int) func(req *stun.Message) []byte {
		return func(req *stun.Message) []byte {
			resp, _ := stun.Build(req, stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.ErrorCode(code))
			return resp.Raw
		}
	}
	tests := []struct {
		name   string
		answer func(req *stun.Message) []byte
		want   string
	}{
		{"400", errorAnswer(400), "400"},
		{"300", errorAnswer(300), "300"},
		{"truncated", func(req *stun.Message) []byte {
			resp, _ := stun.Build(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 9})
			return resp.Raw[:len(resp.Raw)-4]
		}, "truncated"},
		{"bad family", func(req *stun.Message) []byte {
			resp, _ := stun.Build(req, stun.BindingSuccess, stun.RawAttribute{Type: stun.AttrXORMappedAddress, Value: []byte{0, 7, 0, 9, 1, 2, 3, 4}})
			return resp.Raw
		}, "XOR-MAPPED-ADDRESS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			t.Cleanup(func() { _ = conn.Close(); <-done })
			go func() {
				defer close(done)
				buf := make([]byte, 1500)
				for {
					n, from, err := conn.ReadFrom(buf)
					if err != nil {
						return
					}
					req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
					if req.Decode() == nil {
						_, _ = conn.WriteTo(tc.answer(req), from)
					}
				}
			}()
			s, err := probes.ParseServer("stun:" + conn.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			m := probes.NATBehavior(context.Background(), probes.Target{Server: s, Transport: probes.UDP}, probes.NATConfig{RequestTimeout: 300 * time.Millisecond})
			var te *probes.TimeoutError
			if m.Err == nil || errors.As(m.Err, &te) || !strings.Contains(m.Err.Error(), tc.want) {
				t.Fatalf("err = %v (%T), want what was answered (%q)", m.Err, m.Err, tc.want)
			}
			if took := time.Since(start); took > 250*time.Millisecond {
				t.Errorf("took %s: waited for an answer after one came", took)
			}
		})
	}
}
