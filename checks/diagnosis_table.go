package checks

import (
	"github.com/rtcprobe/rtcprobe/probes"
)

var yes, no = ptr(true), ptr(false)

func ptr(b bool) *bool { return &b }

var (
	stunFamily = []Family{FamilySTUN}
	whipFamily = []Family{FamilyWHIP}
	wsFamily   = []Family{FamilyWebSocket}
)

// The outcomes of an exchange that got an HTTP answer, and of a connection
// that ended without one.
var (
	httpAnswered = []probes.Outcome{probes.OutcomeAnswered, probes.OutcomeErrorResponse}
	hungUp       = []probes.Outcome{probes.OutcomeClosed, probes.OutcomeReset}
)

// diagnosisTable reads observations as causes. Rows are tried in order, the
// first that fits wins: specific rows (a follow-up that decided, an ICMP
// error from elsewhere) come before general ones. Each row cites what it
// rests on; a row whose observation fits several causes lists them as
// candidates instead of choosing one.
var diagnosisTable = []row{
	// This machine and its resolver.
	{
		id: "local-firewall", when: match{outcome: probes.OutcomeLocalRefusal},
		cause:  "this machine's own firewall refused to send to {to} ({note}): a rule on this host, not the network",
		advice: "allow outbound traffic to {to} in this machine's firewall (nftables/iptables OUTPUT, ufw, a security product)",
		refs:   []string{"send(2), connect(2): EPERM when a local firewall rule blocks the packet"},
	},
	{
		id: "dns", when: match{outcome: probes.OutcomeDNSFailure},
		cause:  "the name {to} does not resolve ({note})",
		advice: "check the spelling of the name and that this machine's DNS resolver answers for it",
		refs:   []string{"RFC 1034 §4.3.1"},
	},

	// ICMP errors, read from the socket's error queue.
	{
		id: "icmp-prohibited-host", when: match{outcome: probes.OutcomeICMP, icmp: icmpProhibited, elsewhere: no},
		cause:  "the host {host} refused {net} to port {port} with ICMP {icmp}: a packet filter on the server's host rejects it (a REJECT rule), not a firewall on the path",
		advice: "allow {net} to port {port} in the firewall of {host}",
		refs:   []string{"RFC 1812 §5.2.7.1 (codes 9, 10, 13)", "RFC 4443 §3.1"},
	},
	{
		id: "icmp-prohibited", when: match{outcome: probes.OutcomeICMP, icmp: icmpProhibited},
		cause:  "{from} refused {net} to {to} with ICMP {icmp}: a packet filter there rejects it (a REJECT rule)",
		advice: "allow {net} to port {port} on the firewall at {from}, or use TURN over TCP/TLS on port 443 if {net} stays blocked",
		refs:   []string{"RFC 1812 §5.2.7.1 (codes 9, 10, 13)", "RFC 4443 §3.1"},
	},
	{
		id: "icmp-port-elsewhere", when: match{outcome: probes.OutcomeICMP, icmp: icmpPort, elsewhere: yes},
		cause:  "{from}, on the path to {host}, answered ICMP port unreachable for {to}: a firewall there rejects {net} (a REJECT rule answers port unreachable by default)",
		advice: "allow {net} to port {port} on the firewall at {from}",
		refs:   []string{"RFC 1812 §5.2.7.1", "iptables-extensions(8): REJECT --reject-with defaults to icmp-port-unreachable"},
	},
	{
		id: "icmp-port", when: match{outcome: probes.OutcomeICMP, icmp: icmpPort},
		cause: "the host {host} answered ICMP port unreachable: nothing listens on {net} port {port} there (the server is down, or does not serve {net} on this port: coturn no-udp, listening-port), or a REJECT rule on that host imitates it. " +
			"Either way this is the server's host: a firewall on the path drops silently or answers from its own address",
		advice: "check that the server runs and listens on {net} port {port}, with {net} enabled",
		refs:   []string{"RFC 1122 §4.1.3.1 (a host answers port unreachable for a UDP port with no listener)"},
	},
	{
		id: "icmp-unreachable", when: match{outcome: probes.OutcomeICMP, icmp: icmpUnreachable},
		candidates: []string{"no host answers at {host}: {from} found no route or no host there (a wrong address, or the host is down)",
			"a firewall at {from} rejects {net} to {to} with ICMP {icmp}, which imitates that"},
		tellApart: "reach {host} another way from here (TCP to another of its ports, ping): if it answers, a filter sends the ICMP error",
		refs:      []string{"RFC 1812 §5.2.7.1", "RFC 4443 §3.1"},
	},
	{
		id: "icmp-errno", when: match{outcome: probes.OutcomeICMP},
		candidates: []string{"no route to {host} from this machine or a router on the way ({note})",
			"a firewall rejects {net} to {to} with an ICMP error"},
		tellApart: "reach {host} another way from here (another port, ping): if it answers, a filter sends the ICMP error",
		refs:      []string{"RFC 1812 §5.2.7.1"},
	},

	// TCP.
	{
		id: "tcp-reset", when: match{outcome: probes.OutcomeReset, step: "TCP connect"},
		candidates: []string{"nothing listens on TCP port {port} at {host}", "a firewall rejects TCP to port {port} with a reset (it answers in the host's name)"},
		tellApart:  "check on the server that something listens on port {port} (ss -ltn): if it does, a firewall resets the connection",
		advice:     "check the port and that the server is running",
		refs:       []string{"RFC 9293 §3.10.7.1 (a segment to a closed port gets a reset)"},
	},

	// STUN and TURN answers.
	{
		id: "stun-rate-limited", families: stunFamily, when: match{outcome: probes.OutcomeSilence, note: "ICMP port unreachable moments ago"},
		cause:  "{host} refused another probe of {to} with ICMP port unreachable moments ago, and rate-limits its ICMP errors: nothing listens on {net} port {port} there",
		advice: "check that the server runs and listens on {net} port {port}",
		refs:   []string{"RFC 1812 §4.3.2.8 (ICMP rate limiting)", "Linux ip-sysctl: icmp_ratelimit"},
	},
	{
		id: "stun-turn-only", families: stunFamily, when: match{outcome: probes.OutcomeSilence, step: "Binding request", note: "Allocate request on the same connection was answered"},
		cause:  "{to} answers TURN but not STUN Binding requests: STUN is turned off on the server (coturn: no-stun)",
		advice: "clients still get relay candidates there, but need another STUN server for their public (server-reflexive) address; enable STUN or name a STUN server that answers",
		refs:   []string{"RFC 8489 §6.3", "coturn README.turnserver: --no-stun"},
	},
	{
		id: "stun-rfc3489-only", families: stunFamily,
		when: match{outcome: probes.OutcomeSilence, net: "udp", step: "first request",
			followUp: &match{step: probes.StepClassicBinding, outcome: probes.OutcomeAnswered}},
		cause: "{to} speaks only RFC 3489 (classic STUN): it answers only Binding requests with CHANGE-REQUEST. " +
			"It ignored the Binding requests without one and answered one with CHANGE-REQUEST (asking no change), so UDP reaches it and comes back: no firewall drops it",
		advice: "WebRTC clients send Binding requests without CHANGE-REQUEST (RFC 8489, ICE), so they learn no public (server-reflexive) address from this server: " +
			"use a STUN server that speaks RFC 5389/8489 (coturn, …), or replace this one",
		refs: []string{"RFC 3489 §9.3 (formulating the Binding request), §11.2.4 (CHANGE-REQUEST)", "RFC 8489 §12 (backwards compatibility with RFC 3489)",
			"RFC 5780 §7.2 (CHANGE-REQUEST moved out of STUN proper)"},
	},
	{
		id: "stun-accepted-silent", families: stunFamily, when: match{outcome: probes.OutcomeSilence, step: "Binding request", note: "TCP connection was accepted"},
		candidates: []string{"STUN is turned off on the server", "another service owns port {port} and ignores STUN"},
		tellApart:  "look at what listens on port {port} on the server (ss -ltnp)",
		advice:     "the port accepts TCP, so no firewall blocks it",
		refs:       []string{"RFC 8489 §6.2.2"},
	},
	{
		id: "stun-stray", families: stunFamily, when: match{outcome: probes.OutcomeNotProtocol, note: "transaction ID that matches no request"},
		cause:  "{to} answered, but with a transaction ID that matches no request (a server bug): clients discard such answers, so STUN fails there although packets get through",
		advice: "report it to the server's maintainers or use another STUN server",
		refs:   []string{"RFC 8489 §6.3 (a response carries its request's transaction ID)"},
	},
	{
		id: "stun-not-stun", families: stunFamily, when: match{outcome: probes.OutcomeNotProtocol},
		candidates: []string{"another service owns {to}: it answered with something that is not STUN ({note})",
			"the URI names the wrong port or transport for this server"},
		tellApart: "look at what listens on port {port} on the server",
		advice:    "the path is open (an answer came back); check that the URI points at a STUN/TURN server",
		refs:      []string{"RFC 8489 §5 (message structure)", "RFC 7983 §7 (first byte 0-3 is STUN)"},
	},
	{
		id: "stun-300", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{300}},
		cause: "the server redirects to another server (300 Try Alternate)", advice: "configure the server it names (ALTERNATE-SERVER)",
		refs: []string{"RFC 8489 §10"},
	},
	{
		id: "stun-400-credentials", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{400}, note: "credentials sent"},
		cause:  "the server refused the credentials it asked for{realm} with 400 Bad Request, as some servers (pion/turn) answer a wrong username or password",
		advice: "check the username and password, or the REST secret and its TTL",
		refs:   []string{"RFC 8489 §9.2.4"},
	},
	{
		id: "stun-400", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{400}},
		cause: "the server found the request malformed (400 {reason}): it may not speak RFC 8489 STUN",
		refs:  []string{"RFC 8489 §14.8"},
	},
	{
		id: "stun-401-rest", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{401}, note: "TURN REST secret"},
		candidates: []string{"the REST secret is not the server's (coturn: static-auth-secret)",
			"the server keeps no REST secret{realm}: it has one for another realm, or takes static users only (coturn: use-auth-secret)",
			"the server's clock is past the credential's expiry (the first part of the username: this machine's clock, the server's, or the lifetime asked for ({option:turn_ttl}))"},
		tellApart: "look for the user in the server's log (coturn logs the refused user and why), and compare the expiry in the username with the server's clock (date +%s)",
		advice:    "check the REST secret, the realm it is kept for, and both clocks",
		refs:      []string{"RFC 8489 §9.2.4 (long-term credentials)", "draft-uberti-behave-turn-rest-00 §2.2", "coturn README.turnserver: --use-auth-secret, --static-auth-secret"},
	},
	{
		id: "stun-401-credentials", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{401}, note: "credentials sent"},
		candidates: []string{"the password is wrong", "the user is unknown{realm}, or defined for another realm"},
		tellApart:  "look for the user in the server's log: coturn logs the refused user and why",
		advice:     "check the username and password, and the realm the user is defined for (coturn: realm, turnadmin -r)",
		refs:       []string{"RFC 8489 §9.2.4 (long-term credentials)", "RFC 8489 §14.8", "coturn README.turnserver: --realm, --user"},
	},
	{
		id: "stun-401", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{401}},
		cause:  "the server wants credentials{realm}: the username or password is missing",
		advice: "give them for this server: {option:username} and {option:password}, or a TURN REST secret ({option:turn_secret})",
		refs:   []string{"RFC 8489 §9.2.4"},
	},
	{
		id: "turn-403-peer", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{403}, step: "Create"},
		cause:  "the server allocated a relay but refused the {step} for the peer (403 {reason}): its policy denies relaying to that address",
		advice: "coturn denies loopback peers without --allow-loopback-peers and may deny private ranges (denied-peer-ip); ejabberd denies the addresses in turn_blacklist (loopback by default)",
		refs:   []string{"RFC 8656 §9.2", "coturn README.turnserver: --denied-peer-ip, --allow-loopback-peers", "ejabberd docs, listen options: turn_blacklist"},
	},
	{
		id: "turn-403-channel", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{403}, step: "ChannelBind"},
		cause:  "the server allocated a relay but refused the ChannelBind for the peer (403 {reason}): its policy denies relaying to that address",
		advice: "coturn denies loopback peers without --allow-loopback-peers and may deny private ranges (denied-peer-ip); ejabberd denies the addresses in turn_blacklist (loopback by default)",
		refs:   []string{"RFC 8656 §11.2", "coturn README.turnserver: --denied-peer-ip, --allow-loopback-peers", "ejabberd docs, listen options: turn_blacklist"},
	},
	{
		id: "turn-403", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{403}},
		cause: "the server forbids the {step} by policy (403 {reason})",
		refs:  []string{"RFC 8656 §7.2"},
	},
	{
		id: "stun-420", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{420}},
		cause: "the server does not understand a required attribute (420 {reason}): an old or non-TURN server",
		refs:  []string{"RFC 8489 §14.8"},
	},
	{
		id: "turn-437", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{437}},
		candidates: []string{"the server still holds an allocation for this 5-tuple", "the allocation expired before this request",
			"a NAT on the path reuses the port of an earlier allocation"},
		tellApart: "run again: a fresh port gets a fresh 5-tuple; if 437 persists, a NAT reuses ports",
		refs:      []string{"RFC 8656 §7.2, §18"},
	},
	{
		id: "stun-438", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{438}},
		cause:  "the server's nonce went stale twice in a row (438)",
		advice: "check the server's clock and nonce lifetime (coturn: stale-nonce)",
		refs:   []string{"RFC 8489 §9.2.5"},
	},
	{
		id: "turn-440", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{440}},
		cause:  "the server does not relay the address family asked for (440 {reason})",
		advice: "give the server a relay address of that family (coturn: relay-ip), or clients that ask for it get no relay candidate",
		refs:   []string{"RFC 8656 §7.2, §18"},
	},
	{
		id: "turn-441", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{441}},
		cause: "the server refused the credentials: wrong credentials (441 {reason})",
		refs:  []string{"RFC 8656 §18"},
	},
	{
		id: "turn-442", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{442}},
		cause:  "the server does not relay the requested transport, UDP (442 {reason}): WebRTC clients ask only for UDP relays, so they get no relay candidate from it",
		advice: "allow UDP relaying on the server (coturn: remove no-udp-relay)",
		refs:   []string{"RFC 8656 §7.2, §18", "coturn README.turnserver: --no-udp-relay"},
	},
	{
		id: "turn-486-bandwidth", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{486}, reason: "bandwidth"},
		cause:  "the server's bandwidth quota is used up (486 {reason}): it grants no allocation while its relays carry that much, whoever the user",
		advice: "raise or lift the server's bandwidth capacity (coturn: bps-capacity), or add servers",
		refs:   []string{"RFC 8656 §7.2, §18", "coturn README.turnserver: --bps-capacity"},
	},
	{
		id: "turn-486", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{486}},
		candidates: []string{"this user's allocation quota is reached (coturn: user-quota)", "the server's total allocation quota is reached, whoever the user (coturn: total-quota)"},
		tellApart:  "run again with another username: if it is refused too, the total quota is reached",
		advice:     "close the allocations that hold it, wait for them to expire, or raise the quota",
		refs:       []string{"RFC 8656 §7.2, §18", "coturn README.turnserver: --user-quota, --total-quota"},
	},
	{
		id: "stun-500", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{500}},
		cause: "the server had an internal error (500 {reason})", advice: "see the server's logs",
		refs: []string{"RFC 8489 §14.8"},
	},
	{
		id: "turn-508", families: stunFamily, when: match{outcome: probes.OutcomeErrorResponse, codes: []int{508}},
		cause: "the server has no capacity for another allocation (508 {reason}): out of relay ports or resources", advice: "widen the relay port range (coturn: min-port, max-port) or add servers",
		refs: []string{"RFC 8656 §7.2, §18", "coturn README.turnserver: --min-port, --max-port"},
	},

	// A TLS handshake that got no answer, where a STUN request in the
	// clear to the same port did: a plain STUN/TURN port.
	{
		id: "tls-plain-port", families: stunFamily, when: match{outcomes: []probes.Outcome{probes.OutcomeSilence, probes.OutcomeTLSAlert}, step: "TLS handshake",
			followUp: &match{step: "follow-up: STUN Binding request in the clear", outcomes: []probes.Outcome{probes.OutcomeAnswered, probes.OutcomeErrorResponse}}},
		cause: "{to} does not speak TLS on this port: the TLS handshake got no answer (or was hung up on), but a STUN request in the clear to the same port did, so it serves STUN/TURN over plain TCP there " +
			"(as coturn does with no-tls, or with TLS on its tls-listening-port only): the URI names the wrong port or scheme",
		advice: "use turn:{to}?transport=tcp for this port, or the port the server serves TLS on (often 5349 or 443) for turns:",
		refs:   []string{"RFC 8656 §3.1", "RFC 7065 §3 (turns: defaults to port 5349)", "coturn README.turnserver: --no-tls, --tls-listening-port"},
	},
	{
		id: "tls-silence", families: stunFamily, when: match{outcome: probes.OutcomeSilence, step: "TLS handshake"},
		candidates: []string{"{to} serves no TLS on this port and ignores the ClientHello", "a proxy or middlebox on the path interferes with the TLS handshake",
			"the server is overloaded or stalled at the TLS handshake"},
		tellApart: "try turn:{to}?transport=tcp, and the server's TLS port: if plain TCP answers, this port does not serve TLS",
		refs:      []string{"RFC 8446 §4.1.2", "RFC 8656 §3.1"},
	},

	// DTLS that heard nothing, told apart by a STUN Binding to the port.
	{
		id: "dtls-stun-only", families: stunFamily,
		when:   match{outcome: probes.OutcomeSilence, transport: "dtls", followUp: &match{step: "follow-up: STUN Binding", outcome: probes.OutcomeAnswered}},
		cause:  "{to} answers STUN over UDP but not a DTLS handshake: no DTLS listener on this port (coturn: no-dtls, or DTLS is served on another port such as 5349)",
		advice: "point the turns:…?transport=udp URI at the server's DTLS port, or enable DTLS on the server",
		refs:   []string{"RFC 7350 §4 (TURN over DTLS)", "RFC 7983 §7 (STUN and DTLS share a port by their first byte)"},
	},
	{
		id: "dtls-refused", families: stunFamily,
		when:   match{outcome: probes.OutcomeSilence, transport: "dtls", followUp: &match{step: "follow-up: STUN Binding", outcome: probes.OutcomeICMP, icmp: icmpPort}},
		cause:  "the DTLS handshake heard nothing and a STUN Binding to the same port got ICMP port unreachable: nothing listens on UDP port {port} at {host}",
		advice: "check that the server runs and serves DTLS on port {port}",
		refs:   []string{"RFC 1122 §4.1.3.1"},
	},
	// Silence, in every family: what it leaves open.
	{
		id: "udp-silence", when: match{outcome: probes.OutcomeSilence, net: "udp", step: "first request"},
		candidates: []string{"a firewall on the path, or on {host}, drops {net} to port {port}",
			"nothing listens on port {port} and {host} sends no ICMP error (or the ICMP error is dropped on its way back)",
			"a server listens there but ignores this request"},
		tellApart: "try the same server over TCP or TLS: if TCP answers, {net} is filtered on the way",
		advice:    "if a firewall is yours, allow outbound UDP to that port; otherwise use TURN over TCP/TLS, ideally on 443",
		refs:      []string{"RFC 8489 §6.2.1 (a UDP request is retransmitted, then given up)"},
	},
	{
		id: "tcp-silence", when: match{outcome: probes.OutcomeSilence, net: "tcp", step: "first request"},
		candidates: []string{"a firewall drops TCP to {to} (neither SYN-ACK nor reset came back)", "no host is up at {host}"},
		tellApart:  "reach {host} on another port: if it answers, a firewall drops this one",
		advice:     "allow outbound TCP to that port",
		refs:       []string{"RFC 9293 §3.8.1 (SYN retransmission)"},
	},
	{
		id: "stalled", when: match{outcome: probes.OutcomeSilence},
		candidates: []string{"a proxy or middlebox on the path interferes with the {step}", "the server is overloaded or stalled at the {step}"},
		tellApart:  "see whether the server logs the {step}: if it does, the answer is lost on the way back",
	},

	// TLS.
	{
		id: "tls-not-tls", when: match{outcome: probes.OutcomeTLSAlert, note: "does not look like a TLS handshake"},
		cause:  "{to} does not speak TLS on this port: its first answer was not a TLS record",
		advice: "use the port the server serves TLS on (often 5349 or 443), or the plain scheme for this port",
		refs:   []string{"RFC 8446 §5.1"},
	},
	{
		id: "tls-certificate", when: match{outcome: probes.OutcomeTLSAlert, note: "certificate"},
		cause:  "the server's certificate did not verify ({note})",
		advice: "check that the certificate matches the host name in the URI and is signed by a trusted CA (give the private CA's certificate ({option:ca}), or skip verification while testing ({option:insecure}))",
		refs:   []string{"RFC 5280 §6", "RFC 6125 §6"},
	},
	{
		id: "tls-alert", when: match{outcome: probes.OutcomeTLSAlert, codes: []int{40, 70, 71, 112}},
		cause:  "the server refused the TLS handshake with alert {reason}: no protocol version, cipher suite or server name (SNI) in common with this client",
		advice: "check the server's TLS versions and cipher suites (TLS 1.2 or later) and the name it serves",
		refs:   []string{"RFC 8446 §6.2"},
	},
	{
		id: "tls", when: match{outcome: probes.OutcomeTLSAlert},
		cause:  "the TLS handshake with {to} failed ({note})",
		advice: "check the certificate and the server's TLS settings",
		refs:   []string{"RFC 8446 §6.2"},
	},

	// WebSocket signaling: the answer to the Upgrade request (RFC 6455
	// §4.1: anything but 101 means no WebSocket), read with the headers
	// and body that explain it.
	{
		id: "ws-requires-named-subprotocol", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", header: "Sec-Websocket-Protocol"},
		cause:  "the server requires subprotocol {protocol}: it refused the Upgrade ({reason}{headers}; {note}) with that header",
		advice: "offer {protocol} in Sec-WebSocket-Protocol ({option:ws_protocol}), as the application's client does",
		refs:   []string{"RFC 6455 §4.1, §4.2.2 (Sec-WebSocket-Protocol)"},
	},
	{
		id: "ws-requires-subprotocol", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{400, 403, 406, 409, 422, 426}, says: "protocol", saysNot: "version"},
		cause:  "the server requires a subprotocol: it refused the Upgrade ({reason}{headers}; {note}) naming one",
		advice: "offer the one it names in Sec-WebSocket-Protocol ({option:ws_protocol}), as the application's client does",
		refs:   []string{"RFC 6455 §4.1, §4.2.2 (Sec-WebSocket-Protocol)", "WebSocket-Node: request.reject(status, reason) sends X-WebSocket-Reject-Reason"},
	},
	{
		id: "ws-401", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{401}},
		cause:  "the server wants credentials: it refused the Upgrade ({reason}{headers}) until it gets them",
		advice: "give the token or key the server expects in the URL (query or path), as the application's client does",
		refs:   []string{"RFC 9110 §15.5.2, §11.6.1 (WWW-Authenticate)", "RFC 6455 §4.1"},
	},
	{
		id: "ws-403", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{403}},
		cause: "the server refuses this client ({reason}{headers}): a policy on the origin, the token or the client's IP address",
		advice: "a browser sends its page's origin and rtcprobe sends none: a server that accepts only its own origins refuses rtcprobe and may accept the page. " +
			"Check the server's allowed origins, the token the URL carries and any IP allow-list",
		refs: []string{"RFC 6455 §4.2.2 (a server may refuse an origin with 403), §10.2", "RFC 9110 §15.5.4"},
	},
	{
		id: "ws-404", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{404}},
		cause:  "nothing serves this path on the server: it answered the Upgrade {reason}{headers}",
		advice: "check the URL's path against the server's documentation",
		refs:   []string{"RFC 9110 §15.5.5"},
	},
	{
		id: "ws-426", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{426}},
		cause:  "the server wants another WebSocket version or subprotocol: it answered {reason}{headers}",
		advice: "use the version or subprotocol it names (a subprotocol: {option:ws_protocol})",
		refs:   []string{"RFC 6455 §4.2.2, §4.4", "RFC 9110 §15.5.22"},
	},
	{
		id: "ws-redirect", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{301, 302, 303, 307, 308}},
		cause:  "the server redirects the Upgrade: it answered {reason}{headers}",
		advice: "WebSocket clients do not follow redirects: use the URL it points to",
		refs:   []string{"RFC 6455 §4.1 (a status other than 101: the client may follow a 3xx, browsers do not)"},
	},
	{
		id: "ws-400-version", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{400}, says: "version"},
		cause:  "the server refused the Upgrade ({reason}{headers}) and names a protocol version it does not speak",
		advice: "use the client protocol version the server runs, as its own client library does (a socket.io 4 server: EIO=4 in the URL)",
		refs:   []string{"RFC 6455 §4.2.2, §4.4", "Engine.IO protocol v4 (EIO=4)"},
	},
	{
		id: "ws-400", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{400}},
		cause:  "the server found the Upgrade request malformed or unsupported: it answered {reason}{headers}",
		advice: "check the URL's path and query against the server's documentation",
		refs:   []string{"RFC 6455 §4.2.1", "RFC 9110 §15.5.1"},
	},
	{
		id: "ws-500-no-subprotocol", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{500, 501}, note: "offered no subprotocol"},
		candidates: []string{"a fault in the server ({reason}{headers})",
			"a server that requires a subprotocol and fails without one (WebSocket-Node answers 500 when the application accepts a subprotocol the client did not offer)"},
		tellApart: "retry offering the subprotocol the server's documentation names ({option:ws_protocol}), and read the server's log",
		refs:      []string{"RFC 9110 §15.6.1", "WebSocket-Node: WebSocketRequest.accept rejects with 500 a protocol that was not requested"},
	},
	{
		id: "ws-gateway", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{502, 503, 504}},
		candidates: []string{"a reverse proxy or load balancer in front of the signaling server cannot reach it ({reason})", "the signaling server is down or overloaded"},
		tellApart:  "look at the proxy's log and at the backend's health",
		refs:       []string{"RFC 9110 §15.6.3-§15.6.5"},
	},
	{
		id: "ws-5xx", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade", codes: []int{500, 501, 505, 507, 508, 510, 511}},
		cause:  "the server failed on the Upgrade: it answered {reason}{headers}",
		advice: "see the server's log",
		refs:   []string{"RFC 9110 §15.6"},
	},
	{
		id: "ws-plain-http", families: wsFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "HTTP Upgrade"},
		candidates: []string{"no WebSocket behind this path: it answers plain HTTP {reason}{headers}",
			"a proxy or load balancer on the way strips the Upgrade and Connection headers"},
		tellApart: "try the URL from the server's own network, or check that the proxy passes Upgrade (nginx: proxy_set_header Upgrade $http_upgrade)",
		refs:      []string{"RFC 6455 §4.1 (any status but 101: the handshake has not completed)", "RFC 9110 §7.8 (Upgrade is hop-by-hop)"},
	},

	// An Upgrade closed without an answer, told apart by the follow-up: a
	// plain GET of the same path.
	{
		id: "ws-closed-path-404", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", followUp: &match{outcomes: httpAnswered, codes: []int{404}}},
		cause:  "the path answers plain HTTP {followup} but closed the Upgrade without an answer: nothing serves WebSocket at this path",
		advice: "check the URL's path against the server's documentation",
		refs:   []string{"RFC 6455 §4.1", "RFC 9110 §15.5.5"},
	},
	{
		id: "ws-closed-http-no-subprotocol", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", note: "offered no subprotocol", followUp: &match{outcomes: httpAnswered}},
		candidates: []string{"a server that does not speak WebSocket here (the path answers plain HTTP {followup} but closed the Upgrade), or a proxy on the way that does not pass Upgrade",
			"a WebSocket server that requires a subprotocol and drops Upgrades without one (libwebsockets servers such as Janus: janus-protocol)"},
		tellApart: "retry offering the subprotocol the server's documentation names ({option:ws_protocol})",
		refs:      []string{"RFC 6455 §4.1, §4.2.2 (Sec-WebSocket-Protocol)", "Janus WebSocket API: subprotocol janus-protocol"},
	},
	{
		id: "ws-closed-http", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", followUp: &match{outcomes: httpAnswered}},
		candidates: []string{"a server that does not speak WebSocket at this path, or not the subprotocols offered ({note}; the path answers plain HTTP {followup})",
			"a proxy on the way that does not pass Upgrade"},
		tellApart: "check the subprotocol names against the server's documentation, and try the URL from the server's own network",
		refs:      []string{"RFC 6455 §4.1", "RFC 9110 §7.8"},
	},
	{
		id: "ws-closed-both", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", followUp: &match{outcomes: hungUp}},
		candidates: []string{"the server refuses this client at the connection (an IP policy, a connection limit): a plain GET of the path was cut off alike",
			"something on the way (a firewall, a proxy) cuts the connection after the request"},
		tellApart: "try from another network, and read the server's log for this connection",
		refs:      []string{"RFC 9293 §3.5.3, §3.6"},
	},
	{
		id: "ws-closed-silent-get", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", followUp: &match{outcome: probes.OutcomeSilence}},
		candidates: []string{"an overloaded server: it closed the Upgrade and let a plain GET wait", "a service on port {port} that does not speak HTTP"},
		tellApart:  "check what listens on port {port} and its load",
	},
	{
		id: "ws-closed-not-http", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade", followUp: &match{outcome: probes.OutcomeNotProtocol}},
		cause:  "another service owns port {port}: it closed the Upgrade and answers a plain GET with something that is not HTTP",
		advice: "check the URL's port",
		refs:   []string{"RFC 9112 §4 (an HTTP answer begins with a status line)"},
	},
	{
		id: "ws-closed", families: wsFamily, when: match{outcomes: hungUp, step: "HTTP Upgrade"},
		candidates: []string{"a server that does not speak WebSocket here", "a policy that drops this client", "a proxy on the way that cuts the Upgrade"},
		tellApart:  "request the same URL as plain HTTP (http:// or https://) and compare",
		refs:       []string{"RFC 6455 §4.1"},
	},

	// What came after the 101 and the 101 itself.
	{
		id: "ws-http-after-101-version", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "first frame", bytesPrefix: `"HTTP/`, says: "version"},
		cause: "after switching to WebSocket (101) the server wrote an HTTP answer instead of frames ({bytes}): invalid framing, and clients fail the connection. " +
			"It refused the request after accepting the Upgrade and names a protocol version: the client protocol version the URL asks for is one the server does not speak",
		advice: "use the client protocol version the server runs, as its own client library does (a socket.io 4 server: EIO=4 in the URL, unless it sets allowEIO3)",
		refs:   []string{"RFC 6455 §5.2", "Engine.IO protocol v4; socket.io v4 migration: allowEIO3"},
	},
	{
		id: "ws-http-after-101", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "first frame", bytesPrefix: `"HTTP/`},
		cause:  "after switching to WebSocket (101) the server wrote an HTTP answer instead of frames ({bytes}): invalid framing; it refused the request after accepting the Upgrade, and clients fail the connection",
		advice: "check the URL's path and query against the server's documentation",
		refs:   []string{"RFC 6455 §5.2"},
	},
	{
		id: "ws-invalid-frame", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "first frame"},
		cause:  "after switching to WebSocket (101) the server sent something that is not a valid frame ({note}): {bytes}",
		advice: "clients fail such a connection: another protocol may be spoken on this path, or something on the way alters the stream",
		refs:   []string{"RFC 6455 §5.2, §5.5, §7.4"},
	},
	{
		id: "ws-subprotocol-none-chosen", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "HTTP Upgrade", note: "without choosing"},
		cause:  "{note}: browsers fail such a connection",
		advice: "offer a subprotocol the server speaks ({option:ws_protocol}), or none if it uses no subprotocol",
		refs:   []string{"WHATWG Fetch, establish a WebSocket connection (a requested subprotocol must be answered)"},
	},
	{
		id: "ws-subprotocol-not-offered", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "HTTP Upgrade", header: "Sec-Websocket-Protocol"},
		cause:  "{note}",
		advice: "offer {protocol} ({option:ws_protocol}) if the application speaks it; otherwise the server's configuration is wrong",
		refs:   []string{"RFC 6455 §4.1 (the client must fail the connection)"},
	},
	{
		id: "ws-tls-port", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol, step: "HTTP Upgrade", note: "TLS handshake"},
		cause:  "{to} speaks TLS, not plain HTTP: the URL's ws:// must be wss://",
		advice: "use wss:// for this port",
		refs:   []string{"RFC 6455 §3 (wss: is WebSocket over TLS)"},
	},
	{
		id: "ws-not-handshake", families: wsFamily, when: match{outcome: probes.OutcomeNotProtocol},
		cause:  "the answer to the Upgrade request is not a valid WebSocket handshake: {note}",
		advice: "the URL may point at another service, or an intermediary rewrote the answer",
		refs:   []string{"RFC 6455 §4.1"},
	},

	// A connection that ended without an answer.
	{
		id: "closed", when: match{outcome: probes.OutcomeClosed},
		candidates: []string{"another service owns port {port} and hangs up on this protocol", "the server refuses this client or transport by policy",
			"the server is overloaded"},
		tellApart: "look at the server's log for this connection, and at what listens on port {port}",
		refs:      []string{"RFC 9293 §3.6 (closing a connection)"},
	},
	{
		id: "reset", when: match{outcome: probes.OutcomeReset},
		candidates: []string{"another service owns port {port} and resets this protocol", "the server refuses this client or transport by policy",
			"a middlebox on the path resets the connection"},
		tellApart: "look at the server's log for this connection",
		refs:      []string{"RFC 9293 §3.5.3 (reset generation)"},
	},

	// A WHIP/WHEP answer that leaves a media section without a common
	// codec: a valid answer (RFC 3264), read from the SDP exchanged.
	{
		id: "whip-codec-rejected", families: whipFamily, when: match{outcome: probes.OutcomeAnswered, note: "section rejected (port 0)"},
		candidates: []string{"the server shares none of the codecs offered ({note})", "the endpoint takes no such media at all"},
		tellApart:  "look at the codecs the server is configured for: a rejected section names none, and rtcprobe offers only the codecs it has clips of",
		refs:       []string{"RFC 3264 §6", "RFC 9725 §4.2"},
	},
	{
		id: "whip-codec-mismatch", families: whipFamily, when: match{outcome: probes.OutcomeAnswered, note: "codec in common"},
		cause:  "codec mismatch: the server answered only codecs rtcprobe did not offer ({note})",
		advice: "configure the server to accept one of the codecs offered (rtcprobe offers only those it can send); publishers that send only the server's codec work with it",
		refs:   []string{"RFC 3264 §6.1"},
	},
	{
		id: "whip-refused-codec", families: whipFamily, when: match{outcome: probes.OutcomeErrorResponse, step: "WH", reason: "codec"},
		cause:  "the server refused the offer and its answer speaks of codecs ({reason}): a codec mismatch, or a profile of one it does not take",
		advice: "configure the server to accept one of the codecs offered (rtcprobe offers only those it can send)",
		refs:   []string{"RFC 9725 §4.2", "RFC 3264 §6"},
	},
}
