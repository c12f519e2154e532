package iceserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/pion/dtls/v3"
)

// selfSigned makes a throw-away certificate for the loopback names, valid
// for a day: enough for one run, useless to anyone who copies it.
func selfSigned(host string) (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("embedded TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("embedded TLS serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "rtcprobe embedded server"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		// An end-entity certificate, not a CA's: Firefox (NSS) refuses a
		// CA's certificate presented by a server, however it is trusted.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("embedded TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("embedded TLS certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// CertPEM is this run's certificate in PEM, for clients given --ca FILE.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// secureListeners listens for TLS on an ephemeral TCP port and for DTLS on
// the same UDP port, retrying when another process holds the UDP one.
func secureListeners(host string, cert tls.Certificate) (net.Listener, net.Listener, error) {
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var lastErr error
	for range 20 {
		tlsLn, err := tls.Listen("tcp", net.JoinHostPort(host, "0"), tlsCfg)
		if err != nil {
			return nil, nil, fmt.Errorf("embedded TLS listener: %w", err)
		}
		port := tlsLn.Addr().(*net.TCPAddr).Port
		dtlsLn, err := dtls.ListenWithOptions("udp", &net.UDPAddr{IP: net.ParseIP(host), Port: port},
			dtls.WithCertificates(cert), dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
		if err == nil {
			return tlsLn, dtlsLn, nil
		}
		lastErr = err
		_ = tlsLn.Close()
	}
	return nil, nil, fmt.Errorf("embedded DTLS listener: no port free on both TCP and UDP: %w", lastErr)
}
