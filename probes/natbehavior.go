package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// NAT behaviours of RFC 4787 as RFC 5780 discovers them, for mapping and
// for filtering alike.
const (
	EndpointIndependent     = "endpoint-independent"
	AddressDependent        = "address-dependent"
	AddressAndPortDependent = "address-and-port-dependent"
)

// NATConfig tunes NAT behaviour discovery.
type NATConfig struct {
	// Net is the network to probe from: nil for the host's, a pion vnet
	// Net in tests.
	Net transport.Net
	// RequestTimeout is how long one attempt waits (default 250ms);
	// Attempts is how many are sent before a test counts as unanswered
	// (default 3), so one lost datagram does not read as filtering.
	RequestTimeout time.Duration
	Attempts       int
	// Follow, when set, says whether the addresses the server names in
	// OTHER-ADDRESS may be sent to: a server could name any host, and an
	// exporter restricted to some targets must not be led to others. A
	// test it refuses is inconclusive; nil follows any.
	Follow func(*net.UDPAddr) bool
}

func (c NATConfig) withDefaults() (NATConfig, error) {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 250 * time.Millisecond
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Net == nil {
		n, err := stdnet.NewNet()
		if err != nil {
			return c, err
		}
		c.Net = n
	}
	return c, nil
}

// NATSummary is the outcome of NAT behaviour discovery as data.
type NATSummary struct {
	// NAT is true when the mapped address differs from the local one.
	NAT bool
	// Mapping and Filtering are behaviours (EndpointIndependent, …), empty
	// when the test was inconclusive; then …Inconclusive says why.
	Mapping, Filtering                         string
	MappingInconclusive, FilteringInconclusive *InconclusiveError
}

// InconclusiveError says why a behaviour could not be determined.
type InconclusiveError struct {
	Test   string // "mapping" or "filtering"
	Reason string
	// NotFollowed: NATConfig.Follow refused an address the server named.
	NotFollowed bool
}

func (e *InconclusiveError) Error() string { return e.Test + " inconclusive: " + e.Reason }

// NATBehavior runs RFC 5780 §4.3 mapping discovery and §4.4 filtering
// discovery against a UDP STUN server that supports them. The two runs
// use separate sockets, one after the other, because the mapping run's
// requests to the alternate address would open the filter the filtering
// run is trying to measure.
//
// Evidence: mapping, filtering (a behaviour or "inconclusive: why"),
// mapped_address, response_origin, other_address, nat ("none" when the mapped address is
// the local one). Metrics: nat_present (0/1), mapping_level and
// filtering_level (1 endpoint-independent, 2 address-dependent, 3
// address-and-port-dependent; absent when inconclusive). A server without
// OTHER-ADDRESS gives ErrUnsupported; no answer at all a TimeoutError.
func NATBehavior(ctx context.Context, t Target, cfg NATConfig) Measurement {
	if t.Transport != UDP {
		return Failed(fmt.Errorf("NAT behaviour discovery over %s: %w", t.Transport.Upper(), ErrUnsupported))
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Failed(err)
	}
	if ip := net.ParseIP(t.Server.URI.Host); ip != nil && ip.To4() == nil {
		return Failed(fmt.Errorf("NAT behaviour discovery of an IPv6 server: %w (RFC 5780 discovery runs over IPv4, where NATs are)", ErrUnsupported))
	}
	server, err := net.ResolveUDPAddr("udp4", t.Addr())
	if err != nil {
		return Failed(&DNSError{Host: t.Server.URI.Host, Err: err})
	}
	var m Measurement
	sum := &NATSummary{}
	mapping, other, err := discoverMapping(ctx, cfg, server, &m)
	var se *STUNError
	if errors.As(err, &se) && se.Code == 401 {
		m.Err = fmt.Errorf("%s answers Binding only with credentials (401 %s) and RFC 5780 discovery sends none: %w", server, se.Reason, ErrUnsupported)
		return m
	}
	sum.NAT = m.Metrics["nat_present"] == 1
	if err != nil {
		if !errors.As(err, &sum.MappingInconclusive) {
			m.Err = err
			return m
		}
		m.AddEvidence("mapping", "inconclusive: "+sum.MappingInconclusive.Reason)
	} else {
		sum.Mapping = mapping
		m.AddEvidence("mapping", mapping)
		m.SetMetric("mapping_level", level(mapping))
	}
	m.Summary = sum
	if other == nil {
		// Without an alternate address there is nothing to filter on.
		sum.FilteringInconclusive = &InconclusiveError{Test: "filtering", Reason: "needs the server's OTHER-ADDRESS"}
		m.AddEvidence("filtering", "inconclusive: "+sum.FilteringInconclusive.Reason)
		return m
	}
	filtering, err := discoverFiltering(ctx, cfg, server)
	switch {
	case errors.As(err, &sum.FilteringInconclusive):
		m.AddEvidence("filtering", "inconclusive: "+sum.FilteringInconclusive.Reason)
	case err != nil:
		m.Err = err
	default:
		sum.Filtering = filtering
		m.AddEvidence("filtering", filtering)
		m.SetMetric("filtering_level", level(filtering))
	}
	return m
}

func level(behaviour string) float64 {
	switch behaviour {
	case EndpointIndependent:
		return 1
	case AddressDependent:
		return 2
	}
	return 3
}

// natAnswer is one Binding response and where it came from.
type natAnswer struct {
	mapped, other, origin *net.UDPAddr
	from                  *net.UDPAddr
}

// discoverMapping is RFC 5780 §4.3: compare the mapped address seen by
// the primary address, the alternate address on the primary port, and the
// alternate address and port.
func discoverMapping(ctx context.Context, cfg NATConfig, server *net.UDPAddr, m *Measurement) (string, *net.UDPAddr, error) {
	conn, err := cfg.Net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	first, err := natRequest(ctx, conn, server, 0, cfg)
	if err != nil {
		if isNoAnswer(err) {
			return "", nil, &TimeoutError{Addr: server.String(), Transport: UDP, After: cfg.RequestTimeout * time.Duration(cfg.Attempts)}
		}
		return "", nil, err
	}
	m.AddEvidence("mapped_address", first.mapped.String())
	if first.origin != nil {
		m.AddEvidence("response_origin", first.origin.String())
	}
	if isLocal(cfg.Net, first.mapped, conn.LocalAddr()) {
		m.AddEvidence("nat", "none")
		m.SetMetric("nat_present", 0)
	} else {
		m.SetMetric("nat_present", 1)
	}
	if first.other == nil {
		return "", nil, fmt.Errorf("%s sends no OTHER-ADDRESS, so it does not do RFC 5780 NAT discovery: %w", server, ErrUnsupported)
	}
	m.AddEvidence("other_address", first.other.String())
	if first.other.IP.Equal(server.IP) {
		return "", nil, &InconclusiveError{Test: "mapping", Reason: fmt.Sprintf("OTHER-ADDRESS %s is on the same IP as the server, so address-dependent behaviour cannot be told apart", first.other)}
	}
	if first.other.Port == server.Port {
		return "", first.other, &InconclusiveError{Test: "mapping", Reason: fmt.Sprintf("OTHER-ADDRESS %s uses the same port as the server", first.other)}
	}
	if isLocal(cfg.Net, first.mapped, conn.LocalAddr()) {
		return EndpointIndependent, first.other, nil
	}
	altIP := &net.UDPAddr{IP: first.other.IP, Port: server.Port}
	if err := cfg.follow(altIP, first.other); err != nil {
		return "", first.other, err
	}
	second, err := natRequest(ctx, conn, altIP, 0, cfg)
	if err != nil {
		return "", first.other, noAnswerFrom(err, "mapping", altIP)
	}
	if sameAddr(second.mapped, first.mapped) {
		return EndpointIndependent, first.other, nil
	}
	third, err := natRequest(ctx, conn, first.other, 0, cfg)
	if err != nil {
		return "", first.other, noAnswerFrom(err, "mapping", first.other)
	}
	if sameAddr(third.mapped, second.mapped) {
		return AddressDependent, first.other, nil
	}
	return AddressAndPortDependent, first.other, nil
}

// follow refuses, as an inconclusive mapping test, to send to an address
// the server named that cfg.Follow does not allow.
func (c NATConfig) follow(addrs ...*net.UDPAddr) error {
	for _, a := range addrs {
		if c.Follow != nil && !c.Follow(a) {
			return &InconclusiveError{Test: "mapping", NotFollowed: true,
				Reason: fmt.Sprintf("OTHER-ADDRESS names %s, which is not an allowed target, so it was not probed", a)}
		}
	}
	return nil
}

// discoverFiltering is RFC 5780 §4.4 on a fresh socket: ask the server
// to answer from its other address and port, then from its other port
// only; what gets through tells the filter.
func discoverFiltering(ctx context.Context, cfg NATConfig, server *net.UDPAddr) (string, error) {
	conn, err := cfg.Net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	if _, err := natRequest(ctx, conn, server, 0, cfg); err != nil {
		return "", noAnswerFrom(err, "filtering", server)
	}
	ans, err := natRequest(ctx, conn, server, changeIPFlag|changePortFlag, cfg)
	switch {
	case err == nil && sameAddr(ans.from, server):
		return "", &InconclusiveError{Test: "filtering", Reason: "the server ignored CHANGE-REQUEST and answered from its primary address"}
	case err == nil:
		return EndpointIndependent, nil
	case !isNoAnswer(err):
		return "", err
	}
	ans, err = natRequest(ctx, conn, server, changePortFlag, cfg)
	switch {
	case err == nil && sameAddr(ans.from, server):
		return "", &InconclusiveError{Test: "filtering", Reason: "the server ignored CHANGE-REQUEST and answered from its primary port"}
	case err == nil:
		return AddressDependent, nil
	case !isNoAnswer(err):
		return "", err
	}
	if ctx.Err() != nil {
		return "", &InconclusiveError{Test: "filtering", Reason: "the deadline expired before the tests finished"}
	}
	return AddressAndPortDependent, nil
}

const (
	changeIPFlag   = 0x04
	changePortFlag = 0x02
)

var errNoAnswer = errors.New("no answer")

func isNoAnswer(err error) bool { return errors.Is(err, errNoAnswer) }

func noAnswerFrom(err error, test string, addr *net.UDPAddr) error {
	if isNoAnswer(err) {
		return &InconclusiveError{Test: test, Reason: fmt.Sprintf("no answer from %s", addr)}
	}
	return err
}

// natRequest sends a Binding request (with CHANGE-REQUEST flags when
// change is not 0) up to cfg.Attempts times and returns the first answer
// to it, from wherever it comes.
func natRequest(ctx context.Context, conn net.PacketConn, to *net.UDPAddr, change byte, cfg NATConfig) (*natAnswer, error) {
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if change != 0 {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, change}})
	}
	req, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	stray := 0 // Binding responses to no request of ours
	for range cfg.Attempts {
		if ctx.Err() != nil {
			break
		}
		if _, err := conn.WriteTo(req.Raw, to); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(cfg.RequestTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = conn.SetReadDeadline(deadline)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit
				}
				return nil, err
			}
			ans, err := parseNATAnswer(buf[:n], req.TransactionID)
			if errors.Is(err, errOtherTransaction) {
				if isBindingResponse(buf[:n]) {
					stray++
				}
				continue
			}
			if err != nil {
				// The server answered, just not usefully: say what it
				// said instead of waiting for an answer that will not come.
				var se *STUNError
				if !errors.As(err, &se) {
					err = &ProtocolError{Addr: from.String(), Err: err}
				}
				return nil, err
			}
			ans.from, _ = from.(*net.UDPAddr)
			return ans, nil
		}
	}
	if stray > 0 {
		return nil, &StrayAnswerError{Addr: to.String(), Transport: UDP, Count: stray}
	}
	return nil, errNoAnswer
}

// isBindingResponse: a well-formed Binding success or error response.
func isBindingResponse(raw []byte) bool {
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	return msg.Decode() == nil && msg.Type.Method == stun.MethodBinding &&
		(msg.Type.Class == stun.ClassSuccessResponse || msg.Type.Class == stun.ClassErrorResponse)
}

// parseNATAnswer reads the answer to transaction tid: errOtherTransaction
// for anything else, a *STUNError for an error response, and an error
// naming what is wrong with a malformed or truncated answer.
func parseNATAnswer(raw []byte, tid [stun.TransactionIDSize]byte) (*natAnswer, error) {
	msg := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := msg.Decode(); err != nil {
		if len(raw) >= stunHeaderSize && [stun.TransactionIDSize]byte(raw[8:20]) == tid {
			return nil, fmt.Errorf("truncated or malformed answer (%d bytes): %w", len(raw), err)
		}
		return nil, errOtherTransaction
	}
	if msg.TransactionID != tid {
		return nil, errOtherTransaction
	}
	switch {
	case msg.Type.Method != stun.MethodBinding:
		return nil, fmt.Errorf("unexpected %s in answer to a Binding request", msg.Type)
	case msg.Type.Class == stun.ClassErrorResponse:
		return nil, stunError(msg, "Binding")
	case msg.Type.Class != stun.ClassSuccessResponse:
		return nil, fmt.Errorf("unexpected %s", msg.Type)
	}
	var (
		xor    stun.XORMappedAddress
		other  stun.OtherAddress
		origin stun.ResponseOrigin
		ans    natAnswer
	)
	if err := xor.GetFrom(msg); err != nil {
		return nil, fmt.Errorf("success response without a usable XOR-MAPPED-ADDRESS: %w", err)
	}
	ans.mapped = &net.UDPAddr{IP: xor.IP, Port: xor.Port}
	if other.GetFrom(msg) == nil {
		ans.other = &net.UDPAddr{IP: other.IP, Port: other.Port}
	}
	if origin.GetFrom(msg) == nil {
		ans.origin = &net.UDPAddr{IP: origin.IP, Port: origin.Port}
	}
	return &ans, nil
}

func sameAddr(a, b *net.UDPAddr) bool {
	return a != nil && b != nil && a.IP.Equal(b.IP) && a.Port == b.Port
}

// isLocal reports whether mapped is this socket's own address: no NAT
// between us and the server.
func isLocal(n transport.Net, mapped *net.UDPAddr, local net.Addr) bool {
	la, ok := local.(*net.UDPAddr)
	if !ok || la.Port != mapped.Port {
		return false
	}
	if la.IP.Equal(mapped.IP) {
		return true
	}
	ifaces, err := n.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(mapped.IP) {
				return true
			}
		}
	}
	return false
}
