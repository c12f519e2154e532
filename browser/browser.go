package browser

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/rtcprobe/rtcprobe/internal/media"
)

// Media selects the capture devices the browser uses (declared in
// internal/media, so the options table need not link this package).
type Media = media.Devices

const (
	// FakeMedia is Chrome's synthetic camera and microphone (or the files
	// in Config.FakeVideoFile/FakeAudioFile): deterministic, for CI.
	FakeMedia = media.FakeDevices
	// RealMedia uses the machine's own camera and microphone, for a
	// pre-call equipment check; permissions are granted via DevTools.
	RealMedia = media.RealDevices
)

// ParseMedia validates a --media value.
var ParseMedia = media.ParseDevices

// Config is how the browser is started.
type Config struct {
	// Path is the browser binary; empty means Find("").
	Path string
	// Engine is how to drive it; empty means EngineOf(Path).
	Engine Engine
	Media  Media
	// Headful shows the window (needs a display).
	Headful bool
	// FakeVideoFile and FakeAudioFile replace the synthetic devices with
	// a Y4M/MJPEG clip and a WAV file (fake media only).
	FakeVideoFile string
	FakeAudioFile string
	// StartTimeout bounds the start of the browser (default 15 s for
	// Chrome, 30 s for Firefox, whose WebDriver BiDi session waits for its
	// first window's delayed start: 4-10 s on two loaded cores).
	StartTimeout time.Duration
	// Output receives the browser's own stdout/stderr (nil discards it).
	Output io.Writer
	// TrustedCerts are server certificates the browser accepts whoever
	// issued them, such as the embedded server's self-signed one. Chrome
	// is given their public keys (--ignore-certificate-errors-spki-list,
	// honoured by its network stack for every TLS connection, TURN over
	// TLS included, when a --user-data-dir is set: the temporary profile).
	// It matches the certificates a server presents, so a private CA's
	// root that servers do not send cannot be trusted this way. Firefox
	// gets them in its profile's certificate database (firefoxtrust.go):
	// end-entity certificates only, with certutil installed.
	TrustedCerts []*x509.Certificate
}

// Browser is one running browser process with its page server. All checks
// of a run share it, each in its own tab and browser context. Chrome is
// driven over the DevTools protocol (chromedp), Firefox over WebDriver
// BiDi (fx); the checks see no difference.
type Browser struct {
	cfg         Config
	path        string
	engine      Engine
	pages       *pageServer
	cancelAlloc context.CancelFunc
	ctx         context.Context // the browser's root chromedp context
	cancel      context.CancelFunc
	fx          *firefox // set for Firefox, instead of the chromedp fields
	version     string
	userAgent   string
	pid         int
	profileDir  string
	exeDir      string // the browser executable's directory (Linux)
	tmpDir      string
	tmpLock     *os.File // holds tmpDir while this process lives

	// caps is what it sends and receives of the interop codecs, read once.
	capsMu sync.Mutex
	caps   *caps

	// tabs are the Chrome tabs kept between page checks.
	tabs tabPool

	// camera serialises browser.resolutions (exact sizes need the camera
	// to itself) against the other capturing checks, which share it,
	// unless it has a camera of its own (Config.spareCamera).
	camera sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// flags are the command-line switches every run uses. They keep the
// browser quiet on the network: no background requests, no QUIC, no mDNS
// (host candidates stay plain IPs, so nothing multicasts on the LAN), no
// media-router discovery.
func (cfg Config) flags() []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox, // root in containers; the pages are our own
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// The omnibox popups are web pages a headless browser loads at
		// start and never shows: a renderer busy for seconds beside the
		// checks.
		chromedp.Flag("disable-features", "Translate,MediaRouter,DialMediaRouteProvider,OptimizationHints,WebRtcHideLocalIpsWithMdns,WebUIOmniboxPopup,WebUIOmniboxAimPopup"),
		// Background tabs must keep running their timers and media.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Every check tab is the same site: one renderer process for them
		// all spares a process start per tab (about 15% of the wall time of
		// the non-media checks on two cores).
		chromedp.Flag("process-per-site", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.WindowSize(800, 600),
	}
	if cfg.Headful {
		opts = append(opts, chromedp.VisibleWindow)
	} else {
		opts = append(opts, chromedp.Headless)
	}
	if cfg.Media != RealMedia {
		opts = append(opts, chromedp.Flag("use-fake-device-for-media-stream", cfg.fakeDevices()))
		if cfg.FakeVideoFile != "" {
			opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", cfg.FakeVideoFile))
		}
		if cfg.FakeAudioFile != "" {
			opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", cfg.FakeAudioFile))
		}
	}
	if len(cfg.TrustedCerts) > 0 {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", spkiList(cfg.TrustedCerts)))
	}
	if cfg.Output != nil {
		opts = append(opts, chromedp.CombinedOutput(cfg.Output))
	}
	return opts
}

// spareCamera: Chrome's synthetic devices are asked for a second camera,
// browser.resolutions' own. Exact sizes need a camera no other page holds
// (an open camera keeps the size its first page asked for), so with one
// camera that check would hold up every capturing page; with its own, it
// runs beside them. A real camera, a clip (one device) and Firefox's
// synthetic camera (one) have no spare.
func (cfg Config) spareCamera() bool {
	return cfg.Engine == Chromium && cfg.Media != RealMedia && cfg.FakeVideoFile == ""
}

// fakeDevices is the value of Chrome's --use-fake-device-for-media-stream.
func (cfg Config) fakeDevices() any {
	if cfg.spareCamera() {
		return "device-count=2"
	}
	return true
}

// spkiList is Chrome's form of a set of public keys: the base64 SHA-256
// of each certificate's SubjectPublicKeyInfo, comma-separated.
func spkiList(certs []*x509.Certificate) string {
	hashes := make([]string, len(certs))
	for i, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		hashes[i] = base64.StdEncoding.EncodeToString(sum[:])
	}
	return strings.Join(hashes, ",")
}

// Trusts reports whether the browser verifies servers as a client given
// roots does: roots holds exactly the certificates in TrustedCerts, alone
// or added to the system's roots (which the browser trusts as well).
func (cfg Config) Trusts(roots *x509.CertPool) bool {
	if roots == nil || len(cfg.TrustedCerts) == 0 || cfg.Engine == Firefox && !firefoxCanTrust(cfg.TrustedCerts) {
		return false
	}
	own := x509.NewCertPool()
	withSystem, err := x509.SystemCertPool()
	if err != nil {
		withSystem = x509.NewCertPool()
	}
	for _, c := range cfg.TrustedCerts {
		own.AddCert(c)
		withSystem.AddCert(c)
	}
	return roots.Equal(own) || roots.Equal(withSystem)
}

// Launch starts the browser and the page server. ctx bounds the start
// only: the browser lives until Close.
func Launch(ctx context.Context, cfg Config) (*Browser, error) {
	if cfg.Media == "" {
		cfg.Media = FakeMedia
	}
	path := cfg.Path
	if path == "" {
		var err error
		if path, err = Find(""); err != nil {
			return nil, err
		}
	}
	pages, err := startPageServer()
	if err != nil {
		return nil, err
	}
	// Chrome keeps shared-memory files in $TMPDIR (--disable-dev-shm-usage)
	// and leaves some behind when a renderer dies, and Firefox needs a
	// HOME and a profile: give each a directory of its own, with the
	// profile in it, removed in Close (or by the next run when this one is
	// killed).
	removeStaleTempDirs(shortTempBase(), os.TempDir())
	tmp, lock, err := makeTempDir(shortTempBase())
	if err != nil {
		pages.close()
		return nil, err
	}
	engine := cfg.Engine
	if engine == "" {
		engine = EngineOf(path)
	}
	cfg.Engine = engine
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = map[Engine]time.Duration{Chromium: 15 * time.Second, Firefox: 30 * time.Second}[engine]
	}
	b := &Browser{cfg: cfg, path: path, engine: engine, pages: pages, tmpDir: tmp, tmpLock: lock}
	if engine == Firefox {
		start, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
		defer cancel()
		if err := launchFirefox(start, b); err != nil {
			if start.Err() != nil && ctx.Err() == nil {
				err = &StepTimeoutError{Stage: "browser start", After: cfg.StartTimeout}
			}
			_ = b.Close()
			return nil, &LaunchError{Path: path, Err: err}
		}
		return b, nil
	}
	// The allocator's context is not ctx: the process must outlive the
	// caller's deadline and end only in Close.
	opts := append(cfg.flags(), chromedp.ExecPath(path), chromedp.Env("TMPDIR="+tmp),
		chromedp.UserDataDir(filepath.Join(tmp, "profile")))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b.cancelAlloc = cancelAlloc
	b.ctx, b.cancel = chromedp.NewContext(allocCtx)

	started := make(chan error, 1)
	go func() {
		// The first action on the root context starts the process.
		v, err := chromedp.CallBrowser(b.ctx, browser.GetVersion, cdp.Empty{})
		if err == nil {
			b.version, b.userAgent = v.Product, v.UserAgent
		}
		started <- err
	}()
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = &StepTimeoutError{Stage: "browser start", After: cfg.StartTimeout}
	}
	if err != nil {
		_ = b.Close()
		return nil, &LaunchError{Path: path, Err: err}
	}
	// Camera and mic are granted through DevTools rather than with
	// --use-fake-ui-for-media-stream: that switch accepts every request and
	// overrides a denial set via DevTools, which the checks need to test.
	if err := b.setPermission(b.ctx, "", permissionGrant); err != nil {
		_ = b.Close()
		return nil, &LaunchError{Path: path, Err: err}
	}
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
		b.profileDir = profileDirOf(b.pid)
		b.exeDir = exeDirOf(b.pid)
	}
	return b, nil
}

// profileDirOf reads the temporary --user-data-dir chromedp gave the
// process, so tests can prove it is removed.
func profileDirOf(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	for _, arg := range strings.Split(string(raw), "\x00") {
		if dir, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
			return dir
		}
	}
	return ""
}

// Close shuts the browser down (gracefully, then by force), waits for it
// and its temporary profile to be gone, and stops the page server. It is
// safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		if b.engine == Firefox {
			if b.fx != nil {
				b.fx.close()
			}
			b.pages.close()
			b.closeErr = os.RemoveAll(b.tmpDir)
			_ = b.tmpLock.Close()
			return
		}
		// Killed at once where the processes can be found (the profile
		// is removed next: nothing to save), else closed over DevTools.
		if b.profileDir == "" || b.exeDir == "" || !killProfile(b.profileDir, b.exeDir, 3*time.Second) {
			// Cancel needs a chromedp context: a deadline on the root one.
			ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
			defer cancel()
			if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				b.closeErr = err
			}
		}
		b.cancel()
		b.cancelAlloc() // kills the process if still there, waits, removes the profile
		b.pages.close()
		if err := os.RemoveAll(b.tmpDir); err != nil && b.closeErr == nil {
			b.closeErr = err
		}
		_ = b.tmpLock.Close()
	})
	return b.closeErr
}

// Path is the browser binary in use.
func (b *Browser) Path() string { return b.path }

// Engine is how the browser is driven.
func (b *Browser) Engine() Engine { return b.engine }

// Version is the product and version, e.g. "HeadlessChrome/156.0.8078.79"
// or "Firefox/153.8.0".
func (b *Browser) Version() string { return b.version }

// UserAgent is the browser's User-Agent header.
func (b *Browser) UserAgent() string { return b.userAgent }

// PID is the browser's process ID (0 when unknown).
func (b *Browser) PID() int { return b.pid }

// ProfileDir is the temporary profile directory, removed by Close.
func (b *Browser) ProfileDir() string { return b.profileDir }

// Media is the capture mode the browser was started with.
func (b *Browser) Media() Media { return b.cfg.Media }

// Origin is where the check pages are served (a secure context).
func (b *Browser) Origin() string { return b.pages.origin }

// setPermission sets camera and microphone for the check pages' origin in
// one browser context ("" is the default one).
func (b *Browser) setPermission(ctx context.Context, bc cdp.BrowserContextID, perm permission) error {
	for _, origin := range []string{b.pages.origin, b.pages.ownSite} {
		if err := b.setPermissionFor(ctx, origin, bc, perm); err != nil {
			return err
		}
	}
	return nil
}

func (b *Browser) setPermissionFor(ctx context.Context, origin string, bc cdp.BrowserContextID, perm permission) error {
	for _, what := range []string{"camera", "microphone"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission:       &browser.PermissionDescriptor{Name: what},
			Setting:          browser.PermissionSetting(perm),
			Origin:           origin,
			BrowserContextID: bc,
		})
		if err != nil {
			return fmt.Errorf("setting the %s permission: %w", what, err)
		}
	}
	return nil
}

// maxTempBase keeps Chrome's singleton socket path
// ($TMPDIR/rtcprobe-browser-N/org.chromium.Chromium.XXXXXX/SingletonSocket)
// under the 108-byte limit of a Unix socket address; past it Chrome dies
// at start with "Socket path too long".
const maxTempBase = 40

// shortTempBase is os.TempDir() unless that is too long, then /tmp.
func shortTempBase() string {
	if base := os.TempDir(); len(base) <= maxTempBase {
		return base
	}
	return "/tmp"
}
