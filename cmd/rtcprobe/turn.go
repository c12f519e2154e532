package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// turnCredentials gives a TURN server its credentials: minted from the
// REST shared secret when there is one, else --user/--password. A turn:
// URI without any is a usage error, named.
func turnCredentials(o *options, s *probes.Server, now time.Time) error {
	if !s.IsTURN() {
		return nil
	}
	if o.turnSecret != "" {
		s.Username, s.Password = probes.RESTCredentials(o.turnSecret, o.user, o.turnTTL, now)
		return nil
	}
	if o.user == "" || o.password == "" {
		return fmt.Errorf("%s needs credentials: give --user and --password (or RTCPROBE_TURN_PASSWORD), or --turn-secret", s)
	}
	s.Username, s.Password = o.user, o.password
	return nil
}

// tlsConfig builds the client TLS settings from --ca and --insecure; nil
// means the system roots.
func tlsConfig(o *options) (*tls.Config, error) {
	switch {
	case o.insecure:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // asked for with --insecure
	case o.caFile == "":
		return nil, nil
	}
	pem, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w", o.caFile, errors.Unwrap(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in the file", o.caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
