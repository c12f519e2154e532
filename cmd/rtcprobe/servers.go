package main

import (
	"crypto/tls"
	"fmt"

	"github.com/rtcprobe/rtcprobe/internal/input"
	"github.com/rtcprobe/rtcprobe/probes"
)

// credentials gives a server named on the command line its credentials:
// a REST secret to mint them from at the start of the run, else
// --user/--password. A turn: URI with half a credential (a user without a
// password) is a usage error, named; one with none is probed without: a
// server that needs none (coturn no-auth) relays, one that does answers
// 401, and the verdict says credentials are missing. A stun: URI gets them
// too when they are given: a server that answers a Binding with 401 (coturn
// secure-stun) asks for them, and a browser's ICE server entry carries them
// for its stun: URLs the same way.
func (c *cli) credentials(s *probes.Server) error {
	switch {
	case c.turnSecret != "":
		s.REST = &probes.RESTSecret{Secret: c.turnSecret, User: c.user, TTL: c.turnTTL}
	case c.user != "" && c.password != "":
		s.Username, s.Password = c.user, c.password
	case s.IsTURN() && (c.user != "" || c.password != ""):
		return fmt.Errorf("%s needs both --user and --password (or RTCPROBE_TURN_PASSWORD), or --turn-secret", s)
	}
	return nil
}

// tlsConfig builds the client TLS settings from --ca and --insecure; nil
// means the system roots.
func (c *cli) tlsConfig() (*tls.Config, error) {
	cfg, err := input.ClientTLS(c.caFile, c.insecure)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w", c.caFile, err)
	}
	return cfg, nil
}
