package checks

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// signalingAdvice judges a WebSocket signaling result from what was
// observed. Its words stay within the WebSocket family: an error it does
// not explain gets generic network advice only for the steps every
// transport shares (DNS, TCP connect, TLS, timeouts), never another
// family's.
func signalingAdvice(r Result, m probes.Measurement) string {
	if m.Err == nil {
		if m.Metrics["closed_by_server"] == 1 {
			return closedAdvice(r, m)
		}
		return ""
	}
	var (
		proxy   *probes.ProxyError
		status  *probes.HTTPStatusError
		head    *probes.HeadError
		tlsPort *probes.TLSPortError
		closed  *probes.UpgradeClosedError
		subp    *probes.SubprotocolError
		framing *probes.FramingError
		proto   *probes.ProtocolError
	)
	switch err := m.Err; {
	case errors.As(err, &tlsPort):
		return fmt.Sprintf("This port speaks TLS: use wss:// (%s), not ws://.", "wss"+strings.TrimPrefix(r.Target, "ws"))
	case errors.As(err, &proxy) && proxy.Status != "":
		return fmt.Sprintf("The proxy %s refused to tunnel to %s (%s): ask its admin to allow CONNECT to that host and port (proxies often allow only 443), or run the signaling server on 443.", proxy.Proxy, proxy.Target, proxy.Status)
	case errors.As(err, &proxy):
		return fmt.Sprintf("The proxy %s could not be used: check the proxy setting or HTTPS_PROXY.", proxy.Proxy)
	case errors.As(err, &status):
		return statusAdvice(r, status)
	case errors.As(err, &closed):
		return upgradeClosedAdvice(r, closed)
	case errors.As(err, &subp) && subp.Chosen == "":
		return fmt.Sprintf("The server switched to WebSocket but chose none of the subprotocols offered (%s): browsers fail such a connection. Offer one the server speaks (--ws-protocol), or offer none if it uses no subprotocol.", strings.Join(subp.Offered, ", "))
	case errors.As(err, &subp):
		return fmt.Sprintf("The server chose subprotocol %q, which was not offered: clients must fail the connection (RFC 6455 §4.1). Offer it with --ws-protocol %s if the application speaks it; otherwise the server's configuration is wrong.", subp.Chosen, subp.Chosen)
	case errors.As(err, &framing):
		return framingAdvice(r, framing)
	case errors.As(err, &head):
		return "The answer to the Upgrade request is not HTTP that rtcprobe will read (" + head.What + "): the URL may point at another service, or something on the path answers in its place."
	case errors.As(err, &proto):
		return "The server's answer to the Upgrade request is not a valid WebSocket handshake (RFC 6455 §4.1): the URL may point at another service, or an intermediary rewrote the answer."
	case sharedStep(err):
		return ErrorAdvice(err)
	}
	return "The WebSocket could not be opened; the observations show the last step that got an answer."
}

// sharedStep reports whether err ended a step every transport shares, for
// which the generic network advice holds.
func sharedStep(err error) bool {
	var (
		timeout *probes.TimeoutError
		refused *probes.RefusedError
		unr     *probes.UnreachableError
		local   *probes.LocalRefusalError
		dns     *probes.DNSError
		tlsErr  *probes.TLSError
	)
	return errors.As(err, &timeout) || errors.As(err, &refused) || errors.As(err, &unr) || errors.As(err, &local) ||
		errors.As(err, &dns) || errors.As(err, &tlsErr)
}

// statusAdvice reads an HTTP answer other than 101: the status, the
// headers that explain it and the start of its body.
func statusAdvice(r Result, e *probes.HTTPStatusError) string {
	got := e.Status + saidByServer(e)
	if req, ok := requiresSubprotocol(e, got); ok {
		return req
	}
	switch c := e.Code; {
	case c == 401:
		return fmt.Sprintf("The server wants credentials before it accepts the WebSocket (%s): give the token or key the server expects in the URL (query or path), as the application's client does.", got)
	case c == 403:
		return fmt.Sprintf("The server refuses this client (%s): a policy on the origin, the token or the client's IP address. rtcprobe sends no Origin header, while a browser sends its page's origin: a server that accepts only its own origins refuses rtcprobe and may accept the page. Check the server's allowed origins, the token the URL carries and any IP allow-list.", got)
	case c == 404:
		return fmt.Sprintf("Nothing serves this path on the server (%s): check the URL's path against the server's documentation.", got)
	case c == 426:
		return fmt.Sprintf("The server wants another WebSocket version or subprotocol (%s).", got)
	case c >= 300 && c < 400:
		return fmt.Sprintf("The server redirects the Upgrade (%s): WebSocket clients do not follow redirects; use the URL it points to.", got)
	case c == 400 && mentions(e, "version"):
		return fmt.Sprintf("The server refused the Upgrade (%s): the client protocol version in the URL%s is one it does not speak. Use the version the server runs.", got, versionInURL(r))
	case c == 400:
		return fmt.Sprintf("The server found the Upgrade request malformed or unsupported (%s): check the URL's path and query against the server's documentation.", got)
	case (c == 500 || c == 501) && len(e.Offered) == 0:
		return fmt.Sprintf("The server failed on the Upgrade (%s). Cannot tell from here: a fault in the server, or a server that requires a subprotocol and fails without one (WebSocket-Node answers 500 when the application accepts a subprotocol the client did not offer); to tell them apart, retry with --ws-protocol and the subprotocol the server's documentation names, and read the server's log.", got)
	case c == 502 || c == 503 || c == 504:
		return fmt.Sprintf("A gateway answered the Upgrade (%s): a reverse proxy or load balancer in front of the signaling server could not reach it, or the server is down. Check the backend and the proxy's WebSocket configuration.", got)
	case c >= 500:
		return fmt.Sprintf("The server failed on the Upgrade (%s): see the server's log.", got)
	}
	return fmt.Sprintf("The path answers plain HTTP to the Upgrade (%s). Cannot tell from here: no WebSocket behind this path, or a proxy or load balancer on the way that strips the Upgrade and Connection headers; to tell them apart, try the URL from the server's own network, or check that the proxy passes Upgrade (nginx: proxy_set_header Upgrade $http_upgrade).", got)
}

// saidByServer quotes the headers and body that explain a refusal:
// "; X-WebSocket-Reject-Reason: "…", body "…"".
func saidByServer(e *probes.HTTPStatusError) string {
	var parts []string
	for _, name := range []string{"X-Websocket-Reject-Reason", "Www-Authenticate", "Sec-Websocket-Protocol", "Sec-Websocket-Version", "Location"} {
		if v := e.Headers[name]; v != "" {
			parts = append(parts, fmt.Sprintf("%s: %q", headerName(name), v))
		}
	}
	if e.Body != "" {
		parts = append(parts, "body "+e.Body)
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

// headerName spells a header as documentation does.
func headerName(canonical string) string {
	return strings.NewReplacer("Websocket", "WebSocket", "Www-", "WWW-").Replace(canonical)
}

// mentions reports whether the refusal's reason or body contains word.
func mentions(e *probes.HTTPStatusError, word string) bool {
	text := strings.ToLower(e.Headers["X-Websocket-Reject-Reason"] + " " + e.Body)
	return strings.Contains(text, word)
}

// requiresSubprotocol: a refusal that names a subprotocol (in its
// Sec-WebSocket-Protocol header, or in its reason or body) when the
// request offered none or none the server takes.
func requiresSubprotocol(e *probes.HTTPStatusError, got string) (string, bool) {
	if e.Code < 400 || e.Code >= 500 {
		return "", false
	}
	offered := "offering no subprotocol"
	if len(e.Offered) > 0 {
		offered = "offering " + strings.Join(e.Offered, ", ")
	}
	if want := e.Headers["Sec-Websocket-Protocol"]; want != "" {
		return fmt.Sprintf("The server requires subprotocol %s and refused the Upgrade %s (%s): offer it with --ws-protocol %s (Sec-WebSocket-Protocol), as the application's client does.", want, offered, got, want), true
	}
	if mentions(e, "protocol") && !mentions(e, "version") {
		return fmt.Sprintf("The server requires a subprotocol and refused the Upgrade %s (%s): offer the one it names with --ws-protocol NAME (Sec-WebSocket-Protocol), as the application's client does.", offered, got), true
	}
	return "", false
}

// versionInURL names a protocol version the URL's query carries
// (socket.io's EIO=…), when there is one.
func versionInURL(r Result) string {
	u := r.Subject.URL
	if u == nil {
		return ""
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ""
	}
	for _, k := range []string{"EIO", "v", "version"} {
		if v := q.Get(k); v != "" && len(v) <= 8 {
			return fmt.Sprintf(" (%s=%s)", k, v)
		}
	}
	return ""
}

// upgradeClosedAdvice reads the follow-up GET that tells apart why the
// Upgrade got no answer.
func upgradeClosedAdvice(r Result, e *probes.UpgradeClosedError) string {
	how := "closed"
	if e.Reset {
		how = "reset"
	}
	follow, ok := observationOf(r, "follow-up: HTTP GET")
	if !ok {
		return fmt.Sprintf("The server %s the connection after the Upgrade request without an HTTP answer. Cannot tell from here: a server that does not speak WebSocket here, a policy that drops this client, or a proxy on the way that cuts the Upgrade; to tell them apart, request the same URL as plain HTTP (https:// or http://) and compare.", how)
	}
	switch follow.Outcome {
	case probes.OutcomeAnswered, probes.OutcomeErrorResponse:
		if follow.Code == 404 {
			return fmt.Sprintf("The path answers plain HTTP %s but %s the Upgrade: nothing serves WebSocket at this path (a server that handles Upgrades only on its own path, as socket.io at /socket.io/, drops the others). Check the URL's path against the server's documentation.", follow.Reason, how)
		}
		if len(e.Offered) == 0 {
			return fmt.Sprintf("The path answers plain HTTP %s but %s the Upgrade, which offered no subprotocol. Cannot tell from here: a server that does not speak WebSocket here (or a proxy on the way that does not pass Upgrade), or a WebSocket server that requires a subprotocol and drops Upgrades without one (libwebsockets servers such as Janus: janus-protocol); to tell them apart, retry with --ws-protocol and the subprotocol the server's documentation names.", follow.Reason, how)
		}
		return fmt.Sprintf("The path answers plain HTTP %s but %s the Upgrade offering %s: a server that does not speak WebSocket here, or not these subprotocols (or a proxy on the way that does not pass Upgrade). Check the URL's path and the subprotocol names, and that any proxy in front passes WebSocket.", follow.Reason, how, strings.Join(e.Offered, ", "))
	case probes.OutcomeClosed, probes.OutcomeReset:
		return fmt.Sprintf("The server %s the Upgrade and a plain HTTP GET of the same path alike, without an answer. Cannot tell from here: the server refuses this client at the connection (an IP policy, a connection limit), or something on the way (a firewall, a proxy) cuts it after the request; to tell them apart, try from another network and read the server's log for this connection.", how)
	case probes.OutcomeSilence:
		return fmt.Sprintf("The server %s the Upgrade without an answer, and a plain HTTP GET of the same path got no answer either. Cannot tell from here: an overloaded server, or a service on this port that does not speak HTTP; to tell them apart, check what listens on the port and its load.", how)
	case probes.OutcomeNotProtocol:
		return fmt.Sprintf("The server %s the Upgrade, and answers a plain GET with something that is not HTTP: another service owns this port. Check the URL's port.", how)
	}
	return fmt.Sprintf("The server %s the connection after the Upgrade request without an HTTP answer, and the follow-up GET could not be made (%s).", how, follow.Note)
}

// framingAdvice: what came after the 101 was not a WebSocket frame.
func framingAdvice(r Result, e *probes.FramingError) string {
	if strings.HasPrefix(e.Bytes, `"HTTP/`) {
		version := ""
		if strings.Contains(strings.ToLower(e.Bytes), "version") {
			version = fmt.Sprintf(" It names a protocol version: the client protocol version in the URL%s is one the server refuses; use the version it runs (socket.io 4: EIO=4).", versionInURL(r))
		}
		return fmt.Sprintf("After switching to WebSocket (101) the server wrote an HTTP answer instead of frames (%s): it refused the request after accepting the Upgrade, and clients fail the connection (RFC 6455 §5.2).%s", e.Bytes, version)
	}
	return fmt.Sprintf("After switching to WebSocket (101) the server sent bytes that are not a valid frame (%s): clients fail the connection (RFC 6455 §5.2). Another protocol may be spoken on this path, or something on the way alters the stream; check the URL against the server's documentation.", e.Why)
}

// closeMeaning says what a close code means (RFC 6455 §7.4.1, IANA
// WebSocket Close Code registry).
func closeMeaning(code int) string {
	switch {
	case code == 1000:
		return "a normal closure"
	case code == 1001:
		return "going away"
	case code == 1002:
		return "a protocol error: the server found an error in what rtcprobe sent"
	case code == 1003:
		return "data of a type the server does not accept"
	case code == 1007:
		return "a message payload the server found invalid"
	case code == 1008:
		return "a policy violation: the server refuses this client by policy (origin, token, IP address)"
	case code == 1009:
		return "a message too big"
	case code == 1011:
		return "an internal error in the server"
	case code == 1012:
		return "the server is restarting"
	case code == 1013:
		return "try again later: the server is overloaded"
	case code >= 4000 && code <= 4999:
		return "an application's own code: its meaning is the server's"
	case code >= 3000 && code <= 3999:
		return "a library's or framework's registered code"
	}
	return ""
}

// closedAdvice: the server accepted the WebSocket, then closed it, often
// after a message that says why (PeerJS: "Invalid key provided").
func closedAdvice(r Result, m probes.Measurement) string {
	said := ""
	if first := evidence(m, "first_message"); first != "" {
		said = " after sending " + first
	}
	meaning := ""
	if o, ok := observationOf(r, "WebSocket close"); ok {
		if w := closeMeaning(o.Code); w != "" {
			meaning = fmt.Sprintf("; code %d is %s", o.Code, w)
		}
	}
	return fmt.Sprintf("The server accepted the WebSocket and closed it at once (%s)%s%s: it refused this client. "+
		"Check what the URL carries besides %s: the key, id or token the server expects (PeerJS: ?key=…&id=…&token=…), and the path.", evidence(m, "close"), said, meaning, r.Target)
}

// observationOf finds the last observation of step.
func observationOf(r Result, step string) (probes.Observation, bool) {
	for i := len(r.Observations) - 1; i >= 0; i-- {
		if r.Observations[i].Step == step {
			return r.Observations[i], true
		}
	}
	return probes.Observation{}, false
}
