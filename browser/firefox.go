package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// firefox is a running Firefox driven over WebDriver BiDi: its process
// group (the parent and its content processes), the connection, and the
// console of each tab a check runs in.
type firefox struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the parent process is reaped
	conn   *bidi

	mu       sync.Mutex
	consoles map[string]*console // by browsing context ID
}

// firefoxPrefs make Firefox quiet on the network and usable unattended:
// no first-run pages, updates, telemetry, experiments, safe-browsing or
// captive-portal probes (WebDriver BiDi adds its own recommended
// preferences on top); WebRTC host candidates as plain addresses (no
// mDNS) including loopback ones; media may autoplay.
var firefoxPrefs = map[string]any{
	"browser.shell.checkDefaultBrowser":          false,
	"browser.startup.homepage_override.mstone":   "ignore",
	"browser.newtabpage.enabled":                 false,
	"browser.safebrowsing.malware.enabled":       false,
	"browser.safebrowsing.phishing.enabled":      false,
	"browser.safebrowsing.downloads.enabled":     false,
	"datareporting.policy.dataSubmissionEnabled": false,
	"datareporting.healthreport.uploadEnabled":   false,
	"toolkit.telemetry.reportingpolicy.firstRun": false,
	"app.update.auto":                            false,
	"app.update.enabled":                         false,
	"app.normandy.enabled":                       false,
	"extensions.update.enabled":                  false,
	"network.captive-portal-service.enabled":     false,
	"network.connectivity-service.enabled":       false,
	"network.dns.disablePrefetch":                true,
	"network.prefetch-next":                      false,
	"browser.startup.page":                       0,
	"browser.sessionstore.resume_from_crash":     false,
	"browser.places.importBookmarksHTML":         false,
	"browser.discovery.enabled":                  false,
	"browser.search.update":                      false,
	"browser.region.update.enabled":              false,
	"browser.region.network.url":                 "",
	"extensions.enabledScopes":                   0,
	"extensions.getAddons.cache.enabled":         false,
	// Remote settings (experiments, blocklists) ask a closed loopback
	// port instead of Mozilla's servers.
	"services.settings.server":                          "http://127.0.0.1:1/",
	"media.gmp-manager.updateEnabled":                   false,
	"media.autoplay.default":                            0,
	"media.peerconnection.ice.obfuscate_host_addresses": false,
	"media.peerconnection.ice.link_local":               false,
	// Lets it reach servers and peers on loopback; it still gathers no
	// loopback candidates of its own.
	"media.peerconnection.ice.loopback": true,
	// Camera and microphone are the page's without a prompt (as Chrome's
	// are granted via DevTools); fake ones unless real media is asked.
	"media.navigator.permission.disabled": true,
	// Each check has a window of its own, and only one has the focus: the
	// others must still list devices (else enumerateDevices waits).
	"media.devices.unfocused.enabled": true,
}

// userJS renders the preferences as a profile's user.js.
func userJS(media Media) []byte {
	var b strings.Builder
	write := func(k string, v any) {
		val, _ := json.Marshal(v)
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", k, val)
	}
	for k, v := range firefoxPrefs {
		write(k, v)
	}
	if media != RealMedia {
		// Synthetic camera and microphone. Not the mock audio backend
		// (media.cubeb.force_mock_context), though it lists fake speakers:
		// its clock runs about 6 % slow, and so do the RTP timestamps of
		// everything Firefox sends (the interop checks caught it).
		write("media.navigator.streams.fake", true)
	}
	return []byte(b.String())
}

// biDiListening is the line Firefox prints once WebDriver BiDi accepts
// connections.
var biDiListening = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`WebDriver BiDi listening on (ws://[0-9.:\[\]]+)`) })

// launchFirefox starts Firefox headless with a fresh profile in b.tmpDir
// (also its HOME), in a process group of its own, and opens a WebDriver
// BiDi session. b has its path, config, page server and temporary
// directory set.
func launchFirefox(ctx context.Context, b *Browser) error {
	profile := filepath.Join(b.tmpDir, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return err
	}
	b.profileDir = profile
	if err := os.WriteFile(filepath.Join(profile, "user.js"), userJS(b.cfg.Media), 0o600); err != nil {
		return err
	}
	if err := trustInProfile(ctx, profile, b.cfg.TrustedCerts); err != nil {
		return err
	}
	args := []string{"--no-remote", "--profile", profile, "--remote-debugging-port", "0"}
	if !b.cfg.Headful {
		args = append([]string{"--headless"}, args...)
	}
	cmd := exec.Command(b.path, append(args, "about:blank")...)
	cmd.Env = append(os.Environ(), "HOME="+b.tmpDir, "TMPDIR="+b.tmpDir, "MOZ_CRASHREPORTER_DISABLE=1",
		"MOZ_CRASHREPORTER_SHUTDOWN=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1")
	// A process group of its own, so Close ends the content processes
	// too; the parent dies with rtcprobe (its content processes follow
	// when their channel to it closes).
	cmd.SysProcAttr = groupProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if b.cfg.Output != nil {
		cmd.Stdout = b.cfg.Output
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	f := &firefox{cmd: cmd, exited: make(chan struct{}), consoles: map[string]*console{}}
	b.fx, b.pid = f, cmd.Process.Pid
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if b.cfg.Output != nil {
				fmt.Fprintln(b.cfg.Output, line)
			}
			if m := biDiListening().FindStringSubmatch(line); m != nil {
				select {
				case endpoint <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(f.exited)
	}()
	var url string
	select {
	case url = <-endpoint:
	case <-f.exited:
		return errors.New("firefox exited during start")
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.conn, err = dialBiDi(ctx, url+"/session"); err != nil {
		return fmt.Errorf("WebDriver BiDi: %w", err)
	}
	var session struct {
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
			UserAgent      string `json:"userAgent"`
		} `json:"capabilities"`
	}
	if err := f.conn.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, &session); err != nil {
		return err
	}
	b.version = "Firefox/" + session.Capabilities.BrowserVersion
	b.userAgent = session.Capabilities.UserAgent
	f.conn.listen(f.route)
	if err := f.conn.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		return err
	}
	return nil
}

// loopbackCandidates reports whether the browser's calls can be kept to
// loopback candidates. Chrome's can (with
// --allow-loopback-in-peer-connection). Firefox gathers none, whatever
// its preferences say: its host candidates are this machine's own
// addresses, and its calls run over those, which a packet reaches without
// leaving the machine (the peer's loopback candidates are learnt as
// peer-reflexive when its checks arrive).
func (b *Browser) loopbackCandidates() bool { return b.engine != Firefox }

// usesServer says why the browser would not use a server, as an
// unsupported error: Firefox ignores a turns: server named by an IP
// address (no candidate, no icecandidateerror), since it verifies TURN
// over TLS against a host name only (iceServerFor names a trusted
// loopback server localhost).
func (b *Browser) usesServer(t probes.Target) error {
	if b.engine == Firefox && t.Transport == probes.TLS && net.ParseIP(t.Server.URI.Host) != nil && !b.localhostTrusted(t) {
		return fmt.Errorf("%w: Firefox does not use TURN over TLS with a server named by an IP address (%s): name it by a host name its certificate carries", probes.ErrUnsupported, t.Server.URI.Host)
	}
	return nil
}

// route hands a log entry to the console of the tab it came from.
func (f *firefox) route(method string, params json.RawMessage) {
	if method != "log.entryAdded" {
		return
	}
	var e struct {
		Type   string `json:"type"`
		Method string `json:"method"`
		Text   string `json:"text"`
		Source struct {
			Context string `json:"context"`
		} `json:"source"`
		StackTrace *struct {
			CallFrames []struct {
				URL        string `json:"url"`
				LineNumber int    `json:"lineNumber"`
			} `json:"callFrames"`
		} `json:"stackTrace"`
	}
	if json.Unmarshal(params, &e) != nil {
		return
	}
	f.mu.Lock()
	con := f.consoles[e.Source.Context]
	f.mu.Unlock()
	if con == nil {
		return
	}
	if e.Type == "javascript" {
		where := ""
		if st := e.StackTrace; st != nil && len(st.CallFrames) > 0 {
			where = fmt.Sprintf(" (%s:%d)", st.CallFrames[0].URL, st.CallFrames[0].LineNumber+1)
		}
		con.add("exception", e.Text+where)
		return
	}
	con.add("console."+e.Method, e.Text)
}

// evaluate runs expr (a promise of a string) in a fresh window on url
// and closes it. Camera and microphone are the page's (preferences).
func (f *firefox) evaluate(ctx context.Context, url, expr string, perm permission, con *console,
	timedOut func(step string, err error) error) (string, error) {
	if perm != permissionDefault {
		// Its WebDriver BiDi permissions know neither camera nor microphone.
		return "", fmt.Errorf("%w: Firefox cannot be told to %s camera and microphone to one tab", probes.ErrUnsupported, map[permission]string{permissionGrant: "grant", permissionDeny: "deny"}[perm])
	}
	// A window each, not a tab: only the selected tab of a window is
	// visible, and a hidden page waits for enumerateDevices and throttles
	// its timers and video.
	create := map[string]any{"type": "window"}
	var tab struct {
		Context string `json:"context"`
	}
	if err := f.conn.call(ctx, "browsingContext.create", create, &tab); err != nil {
		return "", timedOut("opening a tab", err)
	}
	f.mu.Lock()
	f.consoles[tab.Context] = con
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.consoles, tab.Context)
		f.mu.Unlock()
		f.cleanup("browsingContext.close", map[string]any{"context": tab.Context})
	}()
	// A deadline ends the tab, so a command waiting on it returns.
	stop := context.AfterFunc(ctx, func() { f.cleanup("browsingContext.close", map[string]any{"context": tab.Context}) })
	defer stop()
	if err := f.conn.call(ctx, "browsingContext.navigate", map[string]any{"context": tab.Context, "url": url, "wait": "complete"}, nil); err != nil {
		return "", timedOut("loading the check page", err)
	}
	var res struct {
		Type   string `json:"type"`
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := f.conn.call(ctx, "script.evaluate", map[string]any{"expression": expr, "target": map[string]any{"context": tab.Context},
		"awaitPromise": true, "resultOwnership": "none"}, &res)
	if err != nil {
		return "", timedOut("running the check", err)
	}
	if res.Type == "exception" {
		text := "exception"
		if res.ExceptionDetails != nil {
			text = res.ExceptionDetails.Text
		}
		return "", timedOut("running the check", errors.New(text))
	}
	var s string
	if res.Result.Type != "string" || json.Unmarshal(res.Result.Value, &s) != nil {
		return "", timedOut("running the check", fmt.Errorf("result of type %s, want a string", res.Result.Type))
	}
	return s, nil
}

// cleanup sends a command whose failure does not matter (the tab or the
// browser is already gone), bounded on its own.
func (f *firefox) cleanup(method string, params any) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.conn.call(ctx, method, params, nil)
}

// close ends Firefox's process group and waits until its processes are
// gone.
func (f *firefox) close() {
	// The profile is thrown away: nothing to shut down gracefully for
	// (a graceful quit takes seconds).
	if f.conn != nil {
		f.conn.close()
	}
	killGroup(f.cmd.Process)
	<-f.exited
	// Content processes that outlived the parent go with the group.
	killGroup(f.cmd.Process)
	waitGroupGone(f.cmd.Process.Pid, 3*time.Second)
}
