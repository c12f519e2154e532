package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"

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

// maxCAFile bounds what --ca reads: a bundle of every public root is
// about 200 KB.
const maxCAFile = 4 << 20

// tlsConfig builds the client TLS settings from --ca and --insecure; nil
// means the system roots.
func (c *cli) tlsConfig() (*tls.Config, error) {
	switch {
	case c.insecure:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // asked for with --insecure
	case c.caFile == "":
		return nil, nil
	}
	pem, err := readFileLimited(c.caFile, maxCAFile)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w", c.caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in the file", c.caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// readFileLimited reads a file of at most limit bytes; a bigger one is an
// error that says so, without reading more than limit+1 bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d KiB", limit>>10)
	}
	return data, nil
}
