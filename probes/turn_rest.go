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
