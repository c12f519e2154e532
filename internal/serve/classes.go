package serve

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// authorize applies a route class's access rule, answering the refusal
// itself; it runs before the request takes a place in flight, so a
// client that is refused, or still being checked, holds none. The web
// config is read at each request, so a reload changes who gets in.
func (s *Server) authorize(c Class, w http.ResponseWriter, r *http.Request) bool {
	wc := s.web.Load()
	switch c {
	case Operator:
		if !wc.hasUsers() {
			return true
		}
		ok, err := wc.basicAuth(r, s.bcrypt)
		if err != nil {
			authBusy(w, err)
			return false
		}
		if !ok {
			unauthorized(w, `Basic realm="rtcprobe"`, "this route needs the web config's basic auth")
		}
		return ok
	case Admin:
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tokenMatches(bearer, s.cfg.AdminToken) {
			return true
		}
		if wc.hasUsers() {
			ok, err := wc.basicAuth(r, s.bcrypt)
			if err != nil {
				authBusy(w, err)
				return false
			}
			if ok {
				return true
			}
		}
		why := "this route needs the web config's basic auth or the admin bearer token"
		if !wc.hasUsers() && s.cfg.AdminToken == "" {
			// Admin is never open: say how to open it.
			why = "admin routes are closed: configure basic_auth_users in the web config or set RTCPROBE_ADMIN_TOKEN"
		}
		unauthorized(w, `Basic realm="rtcprobe", Bearer`, why)
		return false
	}
	return true
}

func unauthorized(w http.ResponseWriter, challenge, why string) {
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "401 unauthorized: "+why, http.StatusUnauthorized)
}

func authBusy(w http.ResponseWriter, err error) {
	if !errors.Is(err, errAuthBusy) {
		err = errAuthBusy
	}
	retry := 1
	if r, ok := errors.AsType[*authRefused](err); ok {
		retry = int(r.retry.Seconds() + 0.999)
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	http.Error(w, err.Error(), http.StatusTooManyRequests)
}
