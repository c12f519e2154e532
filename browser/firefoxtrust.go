package browser

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Firefox is not told certificates' keys, as Chrome is: it trusts what
// its profile's NSS database trusts. Config.TrustedCerts go into the
// throw-away profile's database as authorities for TLS servers, with
// certutil (Debian: libnss3-tools), before Firefox starts. NSS refuses a
// CA's certificate presented by a server however it is trusted, so only
// end-entity certificates can be trusted this way.

// certutilBinary is NSS's certificate database tool.
const certutilBinary = "certutil"

// firefoxCanTrust reports whether Firefox can be made to trust certs: all
// are end-entity certificates and certutil is installed.
func firefoxCanTrust(certs []*x509.Certificate) bool {
	for _, c := range certs {
		if c.IsCA {
			return false
		}
	}
	_, err := exec.LookPath(certutilBinary)
	return err == nil
}

// trustInProfile creates the profile's certificate database and adds
// certs to it as trusted authorities for TLS servers ("C,,").
func trustInProfile(ctx context.Context, profile string, certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return nil
	}
	certutil, err := exec.LookPath(certutilBinary)
	if err != nil {
		return fmt.Errorf("trusting the run's certificates: %w (Debian: apt-get install libnss3-tools)", err)
	}
	db := "sql:" + profile
	run := func(args ...string) error {
		out, err := exec.CommandContext(ctx, certutil, append(args, "-d", db)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("certutil %s: %w: %s", args[0], err, out)
		}
		return nil
	}
	if err := run("-N", "--empty-password"); err != nil {
		return err
	}
	for i, c := range certs {
		file := filepath.Join(profile, fmt.Sprintf("trusted-%d.pem", i))
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
			return err
		}
		if err := run("-A", "-n", fmt.Sprintf("rtcprobe trusted %d", i), "-t", "C,,", "-a", "-i", file); err != nil {
			return err
		}
	}
	return nil
}

// iceServerFor is the ICE server the page is given for target t. Firefox
// uses TURN over TLS only with a server named by a host name (it verifies
// the certificate against one): a turns: server on a loopback address is
// named localhost to it, the same server, when its trusted certificate
// carries that name.
func (b *Browser) iceServerFor(t probes.Target) webrtc.ICEServer {
	if b.engine == Firefox && t.Transport == probes.TLS && b.localhostTrusted(t) {
		t.Server.URI.Host = "localhost" // t is a copy
	}
	return probes.ICEServer(t.Server, t.Transport)
}

// localhostTrusted reports whether t is a loopback address whose server
// Firefox was told to trust with a certificate for localhost and that
// address.
func (b *Browser) localhostTrusted(t probes.Target) bool {
	ip := net.ParseIP(t.Server.URI.Host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, c := range b.cfg.TrustedCerts {
		if c.VerifyHostname("localhost") == nil && c.VerifyHostname(ip.String()) == nil {
			return true
		}
	}
	return false
}
