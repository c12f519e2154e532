package serve

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// slots are one route class's places for requests in flight, shared
// fairly: one client address (an IPv4 address, an IPv6 /64) holds at most
// a sixteenth, one network (an IPv4 /24, an IPv6 /48) a quarter, so a
// client that opens many slow requests starves itself, not the others —
// it takes four networks to fill a class — and each class has its own
// places, so the public page cannot take Prometheus' or the admin's.
type slots struct {
	mu                    sync.Mutex
	size                  int
	perClient, perNetwork int
	used                  int
	byClient, byNetwork   map[netip.Prefix]int
}

func newSlots(size int) *slots {
	perClient := min(size, max(4, size/16))
	return &slots{size: size, perClient: perClient, perNetwork: min(size, max(perClient, size/4)),
		byClient: map[netip.Prefix]int{}, byNetwork: map[netip.Prefix]int{}}
}

// take claims a place for a request from remoteAddr; the error says which
// limit refused it.
func (s *slots) take(remoteAddr string) (release func(), err error) {
	client := clientPrefix(remoteAddr)
	network := networkPrefix(client)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.used >= s.size:
		return nil, fmt.Errorf("%d are being served, the server's limit", s.size)
	case s.byClient[client] >= s.perClient:
		return nil, fmt.Errorf("this client address has %d requests in flight, its share", s.perClient)
	case s.byNetwork[network] >= s.perNetwork:
		return nil, fmt.Errorf("this client's network has %d requests in flight, its share", s.perNetwork)
	}
	s.used++
	s.byClient[client]++
	s.byNetwork[network]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.used--
		if s.byClient[client]--; s.byClient[client] <= 0 {
			delete(s.byClient, client)
		}
		if s.byNetwork[network]--; s.byNetwork[network] <= 0 {
			delete(s.byNetwork, network)
		}
	}, nil
}

// clientPrefix is the share a request counts against: its IPv4 address,
// or its IPv6 /64 (one host's usual allocation).
func clientPrefix(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
