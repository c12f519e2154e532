package checks

import (
	"errors"
	"fmt"

	"github.com/rtcprobe/rtcprobe/probes"
)

// ErrorAdvice says what a person can do about a probe error, in network
// terms.
func ErrorAdvice(err error) string {
	var (
		timeout *probes.TimeoutError
		refused *probes.RefusedError
		dnsErr  *probes.DNSError
		tlsErr  *probes.TLSError
		stunErr *probes.STUNError
		proto   *probes.ProtocolError
		closed  *probes.ClosedError
		noSTUN  *probes.NoSTUNError
		stray   *probes.StrayAnswerError
	)
	switch {
	case errors.As(err, &noSTUN) && noSTUN.AnswersTURN:
		return fmt.Sprintf("%s answers TURN but not STUN Binding requests: STUN is turned off on the server (coturn: no-stun). Clients still get relay candidates there, but need another STUN server for their public (server-reflexive) address; enable STUN or name a STUN server that answers.", noSTUN.Addr)
	case errors.As(err, &noSTUN):
		return fmt.Sprintf("The port answers TCP but not STUN: %s accepted the connection, so no firewall blocks it, but nothing there answered a Binding request (STUN disabled on the server, or another service owns the port). Check the port and the server's STUN settings.", noSTUN.Addr)
	case errors.As(err, &stray):
		return fmt.Sprintf("%s answered, but with a transaction ID that matches no request (server bug): clients discard such answers, so STUN fails there although packets get through. Report it to the server's maintainers or use another STUN server.", stray.Addr)
	case errors.As(err, &timeout) && timeout.Stage == probes.StageFirstAnswer:
		if timeout.Transport.Network() == "udp" {
			return fmt.Sprintf("Nothing answered: a firewall on the path silently drops UDP to %s, or no server listens there. Allow outbound UDP to that port, or use TURN over TCP/TLS (ideally on 443).", timeout.Addr)
		}
		return fmt.Sprintf("TCP to %s got no answer (neither SYN-ACK nor RST): a firewall silently drops it. Allow outbound TCP to that port.", timeout.Addr)
	case errors.As(err, &timeout):
		return fmt.Sprintf("The %s with %s stalled: a proxy or middlebox may be interfering, or the server is overloaded.", timeout.Stage, timeout.Addr)
	case errors.As(err, &refused) && refused.Transport.Network() == "udp":
		return fmt.Sprintf("The host %s answered ICMP port unreachable: nothing listens on UDP there (the server is down, or does not serve UDP on this port: coturn no-udp, listening-port), or a REJECT rule on that host refuses it. "+
			"A firewall on the path would drop UDP silently instead: this is the server's side. Check the port and that the server runs with UDP enabled.", refused.Addr)
	case errors.As(err, &refused):
		return fmt.Sprintf("%s is reachable but nothing accepts %s there (or a firewall rejects it). Check the port and that the server is running.", refused.Addr, refused.Transport.Upper())
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Check the spelling of %q and that this machine's DNS resolver can resolve it.", dnsErr.Host)
	case errors.As(err, &tlsErr):
		return "The TLS handshake failed: check that the certificate matches the host name in the URI and is signed by a trusted CA (give the private CA's certificate, or skip verification while testing)."
	case errors.As(err, &stunErr):
		return STUNCodeAdvice(stunErr)
	case errors.As(err, &closed):
		return fmt.Sprintf("The server at %s hung up during %s instead of answering: another service may own this port, the server may reject %s clients by policy, or it is overloaded. Check the port and the server's logs.", closed.Addr, closed.Request, closed.Transport.Upper())
	case errors.As(err, &proto):
		return "The server answered with something that is not valid STUN for this request: check that the URI points at a STUN/TURN server and not another service."
	}
	return ""
}

// STUNCodeAdvice explains a STUN/TURN error code (RFC 5389, RFC 8656).
func STUNCodeAdvice(e *probes.STUNError) string {
	switch e.Code {
	case 300:
		return "The server redirects to another server (ALTERNATE-SERVER); configure that one."
	case 400:
		if e.Authenticated {
			return "The server refused the credentials it asked for" + realmIn(e) + " with 400 Bad Request, as some servers (pion/turn) answer a wrong username or password: check the username and password, or the REST secret and its TTL."
		}
		return "The server found the request malformed; it may not speak RFC 5389 STUN."
	case 401:
		if e.Authenticated {
			return "The server refused the username and password" + realmIn(e) + ": the password is wrong, the user is unknown in that realm, or the REST credential expired (check the REST secret, its TTL and both clocks)."
		}
		return "The server wants credentials" + realmIn(e) + ": the username or password is missing. Give them (or a TURN REST secret) for this server."
	case 403:
		return "The server forbids this request by policy (for example the peer address is denied, or loopback/private peers are not allowed)."
	case 420:
		return "The server does not understand a required attribute; it may be an old or non-TURN server."
	case 437:
		return "Allocation mismatch: the server already has an allocation for this 5-tuple, or it expired. Retry from a fresh port; if it persists, a NAT on the path may be reusing ports."
	case 438:
		return "Stale nonce: the server's nonce expired twice in a row; check the server's clock and nonce lifetime."
	case 441:
		return "Wrong credentials: the username is known but the password does not match (or the REST credential expired)."
	case 440:
		return "The server does not relay the requested address family (IPv4/IPv6)."
	case 442:
		return "The server does not support the requested relay transport."
	case 486:
		return "Allocation quota reached: this user has too many allocations open on the server. Close others or raise the user quota."
	case 500:
		return "The server had an internal error; see its logs."
	case 508:
		return "The server has no capacity for another allocation (out of relay ports or bandwidth)."
	}
	return ""
}

// realmIn names the realm a server asked for, when it named one.
func realmIn(e *probes.STUNError) string {
	if e.Realm == "" {
		return ""
	}
	return fmt.Sprintf(" for realm %q", e.Realm)
}
