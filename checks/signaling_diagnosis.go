package checks

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// signalingAdvice adds to the diagnosis table (diagnosis_table.go, rows
// ws-*) what needs more than the observations: the URL to use instead of
// a ws:// aimed at a TLS port, the proxy's words, and a WebSocket the
// server accepted and then closed (no error: a threshold fails it).
// Everything else reads from the table.
func signalingAdvice(r Result, m probes.Measurement) string {
	var (
		proxy   *probes.ProxyError
		tlsPort *probes.TLSPortError
	)
	switch err := m.Err; {
	case err == nil && m.Metrics["closed_by_server"] == 1:
		return closedAdvice(r, m)
	case errors.As(err, &tlsPort):
		return fmt.Sprintf("This port speaks TLS: use wss:// (%s), not ws://.", "wss"+strings.TrimPrefix(r.Target, "ws"))
	case errors.As(err, &proxy) && proxy.Status != "":
		return fmt.Sprintf("The proxy %s refused to tunnel to %s (%s): ask its admin to allow CONNECT to that host and port (proxies often allow only 443), or run the signaling server on 443.", proxy.Proxy, proxy.Target, proxy.Status)
	case errors.As(err, &proxy):
		return fmt.Sprintf("The proxy %s could not be used: check the proxy setting or HTTPS_PROXY.", proxy.Proxy)
	}
	return ""
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
