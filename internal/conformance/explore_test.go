package conformance

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/coturn"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	cfgs := map[string]coturn.Config{
		"default":   {},
		"no-udp":    {NoUDP: true},
		"no-tcp":    {NoTCP: true},
		"secure":    {Args: []string{"--secure-stun"}},
		"no-stun":   {Args: []string{"--no-stun"}},
		"deny":      {DenyLoopbackPeers: true},
		"quota1":    {UserQuota: 1},
		"quota2":    {UserQuota: 2},
		"maxbps":    {Args: []string{"--max-bps=3000"}},
		"stale":     {Args: []string{"--stale-nonce=1"}},
		"denied":    {Args: []string{"--denied-peer-ip=127.0.0.0-127.255.255.255"}},
		"chan":      {Args: []string{"--channel-lifetime=2"}},
		"perm":      {Args: []string{"--permission-lifetime=2"}},
		"v6only":    {ListenIPs: []string{"::1"}},
	}
	for name, cfg := range cfgs {
		if f := os.Getenv("EXPLORE"); f != "all" && !strings.Contains(f, name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			cfg.User, cfg.Password = "u", "p"
			ct := coturn.Start(t, cfg)
			h := ct.Host
			rs := run{uris: []string{ct.URI("stun", h, ct.Port), ct.URI("turn", h, ct.Port)}, user: "u", password: "p",
				ids: os.Getenv("IDS"), packets: 150, timeout: 10 * time.Second}.do(t)
			for _, r := range rs {
				t.Logf("%s %s %s %v\n%s", r.CheckID, r.Target, r.Status, r.Metrics, show(r))
			}
		})
	}
}
