package exporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/probes"
)

// target is a /probe target: a STUN/TURN server or a signaling URL.
type target struct {
	server   *probes.Server
	url      *url.URL
	endpoint config.TargetParts
}

// name is the target as shown anywhere (status page, logs, debug
// output): no credentials, no query values.
func (t target) name() string { return t.endpoint.URI }

// maxTarget bounds a target parameter: real URIs are short.
const maxTarget = 2048

// parseTarget reads the target parameter. Errors never quote what may be
// a secret: userinfo and query values are left out.
func parseTarget(raw string) (target, error) {
	switch {
	case raw == "":
		return target{}, errors.New(`missing target parameter (want a stun:, stuns:, turn: or turns: URI, or a ws:// or wss:// URL)`)
	case len(raw) > maxTarget:
		return target{}, fmt.Errorf("invalid target parameter: longer than %d bytes", maxTarget)
	case strings.Contains(raw, "@"):
		return target{}, errors.New("invalid target parameter: credentials in the target are not allowed (the module's credentials are used)")
	}
	if strings.HasPrefix(raw, "ws://") || strings.HasPrefix(raw, "wss://") {
		u, err := url.Parse(raw)
		if err != nil {
			return target{}, fmt.Errorf("invalid target parameter %q: not a URL", redactQuery(raw))
		}
		if _, err := probes.ParseWebSocketURL(raw); err != nil {
			return target{}, fmt.Errorf("invalid target parameter: %w", err)
		}
		return target{url: u, endpoint: config.URLEndpoint(u)}, nil
	}
	s, err := probes.ParseServer(raw)
	if err != nil {
		return target{}, fmt.Errorf("invalid target parameter: %w", err)
	}
	return target{server: &s, endpoint: config.ServerTargetParts(s)}, nil
}

// redactQuery drops everything after "?" (tokens ride there).
func redactQuery(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}

// quoteParam quotes a request parameter for an error message, cut short.
func quoteParam(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}
