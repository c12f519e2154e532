package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rtcprobe/rtcprobe/probes"
)

// mediaFlags name a WHIP/WHEP media server and its bearer tokens (never
// printed).
type mediaFlags struct {
	whip, whep           string
	whipToken, whepToken string
}

func (m *mediaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.whip, "whip", "", "check this WHIP (RFC 9725) publish `URL`: http:// or https://")
	fs.StringVar(&m.whep, "whep", "", "check this WHEP playback `URL`: http:// or https://")
	fs.StringVar(&m.whipToken, "whip-token", "", "bearer token for --whip (or env RTCPROBE_WHIP_TOKEN); also sent to --whep on the same host; never printed")
	fs.StringVar(&m.whepToken, "whep-token", "", "bearer token for --whep (or env RTCPROBE_WHEP_TOKEN); never printed")
}

func (m *mediaFlags) fromEnv() {
	if m.whipToken == "" {
		m.whipToken = os.Getenv("RTCPROBE_WHIP_TOKEN")
	}
	if m.whepToken == "" {
		m.whepToken = os.Getenv("RTCPROBE_WHEP_TOKEN")
	}
}

// endpoints parses --whip and --whep; errors name the flag and never
// quote a token.
func (m *mediaFlags) endpoints() (whip, whep *probes.Endpoint, err error) {
	if m.whip != "" {
		u, err := probes.ParseEndpoint(m.whip)
		if err != nil {
			return nil, nil, fmt.Errorf("--whip: %w", err)
		}
		whip = &probes.Endpoint{URL: u, Token: m.whipToken}
	} else if m.whipToken != "" && m.whep == "" {
		return nil, nil, fmt.Errorf("--whip-token (or RTCPROBE_WHIP_TOKEN) without --whip: give the WHIP URL")
	}
	if m.whep != "" {
		u, err := probes.ParseEndpoint(m.whep)
		if err != nil {
			return nil, nil, fmt.Errorf("--whep: %w", err)
		}
		whep = &probes.Endpoint{URL: u, Token: m.whepToken}
		// One server usually takes one token; it goes to no other host.
		if whep.Token == "" && whip != nil && whip.URL.Host == u.Host {
			whep.Token = whip.Token
		}
	}
	return whip, whep, nil
}
