package serve

import (
	"net/http"
	"strings"
)

// guard wraps a route's handler with its class's access rule. The web
// config is read at each request, so a reload changes who gets in.
func (s *Server) guard(c Class, h http.Handler) http.Handler {
	switch c {
	case Operator:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if wc := s.web.Load(); wc.hasUsers() && !wc.basicAuth(r) {
				unauthorized(w, `Basic realm="rtcprobe"`, "this route needs the web config's basic auth")
				return
			}
			h.ServeHTTP(w, r)
		})
	case Admin:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wc := s.web.Load()
			if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tokenMatches(bearer, s.cfg.AdminToken) {
				h.ServeHTTP(w, r)
				return
			}
			if wc.hasUsers() && wc.basicAuth(r) {
				h.ServeHTTP(w, r)
				return
			}
			why := "this route needs the web config's basic auth or the admin bearer token"
			if !wc.hasUsers() && s.cfg.AdminToken == "" {
				// Admin is never open: say how to open it.
				why = "admin routes are closed: configure basic_auth_users in the web config or set RTCPROBE_ADMIN_TOKEN"
			}
			unauthorized(w, `Basic realm="rtcprobe", Bearer`, why)
		})
	}
	return h
}

func unauthorized(w http.ResponseWriter, challenge, why string) {
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "401 unauthorized: "+why, http.StatusUnauthorized)
}
