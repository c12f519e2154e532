package serve

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	// fakeHash stands in for an unknown user's hash.
	fakeHash string
	// limiters are the rate limit's buckets, one per route class, so
	// that the public page's visitors cannot spend Prometheus' or the
	// admin's.
	limiters map[Class]*rate.Limiter
	auth     *authCache
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
	cost := 0
	for name, hash := range c.Users {
		wc.users[name] = string(hash)
		if n, err := bcrypt.Cost([]byte(hash)); err == nil {
			cost = max(cost, n)
		}
	}
	if len(wc.users) > 0 {
		if wc.fakeHash, err = fakeHashOf(cost); err != nil {
			return nil, fmt.Errorf("web config %s: %w", file, err)
		}
	}
	if c.RateLimiterConfig.Interval > 0 {
		wc.limiters = map[Class]*rate.Limiter{}
		for _, class := range []Class{Public, Operator, Admin} {
			wc.limiters[class] = rate.NewLimiter(rate.Every(c.RateLimiterConfig.Interval), c.RateLimiterConfig.Burst)
		}
	}
	return wc, nil
}

// hasUsers reports whether basic auth is configured.
func (wc *webConfig) hasUsers() bool { return len(wc.users) > 0 }

// fakeHashOf makes the hash compared against for unknown users, so that
// a wrong user name takes as long as a wrong password: at the users'
// highest cost, no more (a fixed cost-10 hash made a guess with an
// unknown name cost more than one with a known name).
func fakeHashOf(cost int) (string, error) {
	pass := make([]byte, 16)
	_, _ = rand.Read(pass)
	h, err := bcrypt.GenerateFromPassword(pass, max(cost, bcrypt.MinCost))
	return string(h), err
}

// basicAuth reports whether the request carries a configured user's
// password; err (errAuthBusy) when the check could not run now.
func (wc *webConfig) basicAuth(r *http.Request, gate *bcryptGate) (bool, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false, nil
	}
	hash, known := wc.users[user]
	if !known {
		hash = wc.fakeHash
	}
	now := time.Now()
	key := wc.auth.keyOf(user, hash, pass)
	if known && wc.auth.known(key, now) {
		return true, nil
	}
	good, err := gate.compare(r.RemoteAddr, hash, pass)
	if err != nil {
		return false, err
	}
	if good && known {
		wc.auth.remember(key, now)
	}
	return known && good, nil
}

// tokenMatches compares a bearer token in constant time.
func tokenMatches(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return want != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
