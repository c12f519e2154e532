package probes

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is defined on HMAC-SHA1
	"encoding/base64"
	"strconv"
	"time"
)

// RESTCredentials mints TURN REST ephemeral credentials from a shared
// secret, as coturn's use-auth-secret expects: the username is
// "expiry:user" (expiry in Unix seconds, now+ttl; just "expiry" without a
// user) and the password is base64(HMAC-SHA1(secret, username)).
func RESTCredentials(secret, user string, ttl time.Duration, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10)
	if user != "" {
		username += ":" + user
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// RESTSecret is a TURN REST shared secret to mint credentials from. A
// server that has one gets fresh credentials for each run (Minted), so a
// long-running process never presents expired ones.
type RESTSecret struct {
	Secret string
	// User is the optional user part of the username.
	User string
	// TTL is each minted credential's lifetime.
	TTL time.Duration
}

// Minted returns s with credentials minted from its REST secret at now;
// a server without one is returned as it is.
func (s Server) Minted(now time.Time) Server {
	if s.REST != nil {
		s.Username, s.Password = RESTCredentials(s.REST.Secret, s.REST.User, s.REST.TTL, now)
	}
	return s
}

// Static reports whether s holds a long-term credential as written (a
// username or password, not minted from a REST secret).
func (s Server) Static() bool {
	return s.REST == nil && (s.Username != "" || s.Password != "")
}
