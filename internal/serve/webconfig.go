package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// webConfig is Prometheus' web config file (the exporter-toolkit format:
// tls_server_config, http_server_config, basic_auth_users, rate_limit),
// loaded and checked once per start or reload rather than per request.
type webConfig struct {
	file string
	// tls is nil for plain HTTP.
	tls     *tls.Config
	http2   bool
	headers map[string]string
	users   map[string]string // name → bcrypt hash
	limiter *rate.Limiter
	auth    *authCache
}

// maxWebConfigFile bounds the web config: real ones are a few hundred bytes.
const maxWebConfigFile = 1 << 20

// loadWebConfig reads and validates a web config file; "" is plain HTTP
// without users. Relative certificate paths are relative to the file.
func loadWebConfig(file string) (*webConfig, error) {
	wc := &webConfig{file: file, http2: true, auth: newAuthCache()}
	if file == "" {
		return wc, nil
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("web config: %w", err)
	}
	if fi.Size() > maxWebConfigFile {
		return nil, fmt.Errorf("web config %s: larger than %d KiB", file, maxWebConfigFile>>10)
	}
	// The toolkit's own validation: users' bcrypt hashes, certificate and
	// key files, allowed headers.
	if err := web.Validate(file); err != nil {
		return nil, fmt.Errorf("web config %s: %w", file, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("web config: %w", err)
	}
	c := web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("web config %s: %w", file, err)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(file))
	if c.TLSConfig.IsEnabled() {
		if wc.tls, err = web.ConfigToTLSConfig(&c.TLSConfig); err != nil {
			return nil, fmt.Errorf("web config %s: %w", file, err)
		}
	}
	wc.http2, wc.headers = c.HTTPConfig.HTTP2, c.HTTPConfig.Header
	wc.users = map[string]string{}
	for name, hash := range c.Users {
		wc.users[name] = string(hash)
	}
	if c.RateLimiterConfig.Interval > 0 {
		wc.limiter = rate.NewLimiter(rate.Every(c.RateLimiterConfig.Interval), c.RateLimiterConfig.Burst)
	}
	return wc, nil
}

// hasUsers reports whether basic auth is configured.
func (wc *webConfig) hasUsers() bool { return len(wc.users) > 0 }

// fakeHash is compared against for unknown users, so that a wrong user
// name takes as long as a wrong password (bcrypt of "fakepassword", as
// the toolkit does).
const fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

// basicAuth reports whether the request carries a configured user's
// password.
func (wc *webConfig) basicAuth(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, known := wc.users[user]
	if !known {
		hash = fakeHash
	}
	good := wc.auth.check(user, hash, pass)
	return known && good
}

// authCache remembers bcrypt verdicts: a scrape every second would
// otherwise spend most of its time in bcrypt. Keys are hashes of user,
// stored hash and password, never the password itself.
type authCache struct {
	mu      sync.Mutex
	bcrypt  sync.Mutex // one bcrypt at a time: it is CPU-bound by design
	entries map[[32]byte]authEntry
}

type authEntry struct {
	ok      bool
	expires time.Time
}

const (
	authCacheSize = 1024
	authCacheTTL  = time.Minute
)

func newAuthCache() *authCache { return &authCache{entries: map[[32]byte]authEntry{}} }

func (c *authCache) check(user, hash, pass string) bool {
	h := sha256.New()
	for _, s := range []string{user, hash, pass} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.ok
	}
	c.bcrypt.Lock()
	good := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
	c.bcrypt.Unlock()
	c.mu.Lock()
	if len(c.entries) >= authCacheSize {
		clear(c.entries)
	}
	c.entries[key] = authEntry{ok: good, expires: now.Add(authCacheTTL)}
	c.mu.Unlock()
	return good
}

// tokenMatches compares a bearer token in constant time.
func tokenMatches(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return want != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
