package fakestac

import (
	"net/http"
	"strings"
)

// Mode is how a protected path answers a request without a valid bearer token.
type Mode int

const (
	// Answer401 answers 401 with WWW-Authenticate: Bearer realm="<realm>" (plus
	// error="invalid_token" when a token was sent) and a JSON body.
	Answer401 Mode = iota
	// RedirectToLogin answers 302 to the token server's login page (Terrascope downloads):
	// <token origin>[BasePath]/realms/<realm>/protocol/openid-connect/auth?client_id=...&
	// redirect_uri=<the request URL>&response_type=code&scope=openid, which answers 200 with
	// HTML.
	RedirectToLogin
)

type bearerGuard struct {
	ts   *TokenServer
	mode Mode
}

// bearerToken returns the token of an Authorization: Bearer header; present is true when
// the request had an Authorization header at all.
func bearerToken(r *http.Request) (tok string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}

func (g *bearerGuard) allows(r *http.Request) bool {
	tok, _ := bearerToken(r)
	return tok != "" && g.ts.Valid(tok)
}

// check answers the request when it lacks a valid token.
func (g *bearerGuard) check(w http.ResponseWriter, r *http.Request) bool {
	if g.allows(r) {
		return false
	}
	_, present := bearerToken(r)
	if g.mode == RedirectToLogin {
		w.Header().Set("Location", g.ts.LoginURL("http://"+r.Host+r.URL.RequestURI()))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusFound)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("<html><body>Redirecting to the sign-in page</body></html>\n"))
		}
		return true
	}
	v := `Bearer realm="` + g.ts.opts.Realm + `"`
	desc := "Not authenticated"
	if present {
		v += `, error="invalid_token", error_description="Token verification failed"`
		desc = "Invalid or expired token"
	}
	w.Header().Set("WWW-Authenticate", v)
	writeError(w, http.StatusUnauthorized, "Unauthorized", desc)
	return true
}

// RequireBearer makes every request whose path starts with pathPrefix need an
// Authorization: Bearer header with a live access token of ts; other requests get the
// answer of onMissing. Other paths are not affected (they stay anonymous, and requests to
// them are still logged with whatever headers they carry).
func (s *Server) RequireBearer(ts *TokenServer, pathPrefix string, onMissing Mode) {
	g := &bearerGuard{ts: ts, mode: onMissing}
	s.AddGuard(pathPrefix, g.check)
}

// RequireBearerCollection protects one collection on the STAC API: /collections/{id} and
// everything below it, and searches that name it in collections, need a live bearer token
// of ts (else the onMissing answer); searches that do not name it simply leave its items
// out for a request without a valid token. /collections still lists it.
func (s *Server) RequireBearerCollection(ts *TokenServer, collection string, onMissing Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.protected == nil {
		s.protected = make(map[string]*bearerGuard)
	}
	s.protected[collection] = &bearerGuard{ts: ts, mode: onMissing}
}

// refuseCollection answers the request when the collection is protected and the request
// has no valid token.
func (s *Server) refuseCollection(w http.ResponseWriter, r *http.Request, collection string) bool {
	s.mu.Lock()
	g := s.protected[collection]
	s.mu.Unlock()
	return g != nil && g.check(w, r)
}

// mayRead reports whether r may see the items of collection.
func (s *Server) mayRead(r *http.Request, collection string) bool {
	s.mu.Lock()
	g := s.protected[collection]
	s.mu.Unlock()
	return g == nil || g.allows(r)
}
