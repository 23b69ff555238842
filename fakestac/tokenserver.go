package fakestac

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Grant types of the token endpoint.
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// ClientAuth is the set of client authentication styles a TokenServer accepts.
type ClientAuth int

const (
	// ClientAuthAny accepts HTTP Basic and form fields (client_id, client_secret), like
	// Keycloak.
	ClientAuthAny ClientAuth = iota
	// ClientAuthBasic accepts only HTTP Basic for confidential clients: a client_secret form
	// field is ignored. (Public clients always name themselves with the client_id field.)
	ClientAuthBasic
	// ClientAuthForm accepts only form fields: an Authorization header is ignored.
	ClientAuthForm
)

// TokenOptions configures a TokenServer. The zero value is a Keycloak realm "fakestac" with no
// clients and no users.
type TokenOptions struct {
	// Realm is the Keycloak realm (default "fakestac").
	Realm string
	// BasePath is put before /realms/..., e.g. "/auth" for old Keycloak (Terrascope).
	BasePath string
	// Plain serves a bare OAuth2 client-credentials endpoint at BasePath+"/oauth2/token"
	// (Amazon Cognito, EarthDaily) instead of Keycloak: only grant_type=client_credentials,
	// answers {"access_token","expires_in","token_type":"Bearer"}, errors 400 {"error": ...}
	// without a description.
	Plain bool

	// AccessTTL is the access-token lifetime (default 300 s); expires_in is it in whole
	// seconds (at least 1).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens issued by the password grant and by
	// refreshes; 0 makes them never expire and gives refresh_expires_in 0 (like offline
	// tokens, which never expire whatever this is).
	RefreshTTL time.Duration
	// Rotate makes each refresh token usable once (Keycloak "Revoke Refresh Token" with max
	// reuse 0). Using a spent one gives invalid_grant "Maximum allowed refresh token reuse
	// exceeded" and ends its session: every refresh token of that login stops working.
	// Without Rotate a refresh still returns a new refresh token and the old one keeps
	// working.
	Rotate bool

	// Clients maps client id to secret; "" makes a public client.
	Clients map[string]string
	// Grants limits the grant types of a client (client id -> grant types); a client not
	// listed may use every grant, except client_credentials for public clients.
	Grants map[string][]string
	// Users maps user name to password (password grant).
	Users map[string]string
	// OfflineTokens are pre-issued offline refresh tokens, accepted verbatim from any client
	// (see also IssueOfflineToken, which binds a token to a client).
	OfflineTokens []string
	// ClientAuth chooses the accepted client authentication styles.
	ClientAuth ClientAuth
	// Scope is the scope reported when the request has none (default "profile email").
	// A requested scope is echoed back.
	Scope string
	// KeepOfflineOnRevoke makes RevokeAll spare offline tokens.
	KeepOfflineOnRevoke bool
	// LoginClientID is the client_id of the login redirects of RequireBearer (default
	// "account").
	LoginClientID string
}

// TokenServer is a fake OpenID Connect token endpoint on its own origin (a Server with
// AssetsOnly, so its log, SetFault and Count work as usual). Its methods are safe for
// concurrent use.
type TokenServer struct {
	// Server is the underlying server: Requests, SetFault, Count.
	Server *Server
	// Origin is http://127.0.0.1:port.
	Origin string
	// Issuer is the realm URL (Origin + BasePath + /realms/<realm>); "" when Plain.
	Issuer string

	opts      TokenOptions
	tokenPath string
	authPath  string // login page; "" when Plain

	mu sync.Mutex
	// GUARDED_BY(mu):
	tokens   map[string]*tokenRec
	fetches  map[string]int
	granted  map[string]int
	down     bool
	skew     time.Duration
	sessions int
}

type session struct {
	id      string
	offline bool
	ended   bool
}

type tokenRec struct {
	access  bool
	client  string // "" for a pre-issued offline token: any client
	user    string
	scope   string
	sess    *session // nil for client_credentials
	exp     time.Time
	used    bool // refresh tokens, with Rotate
	revoked bool
}

// NewTokenServer starts a TokenServer on 127.0.0.1 with a random port.
func NewTokenServer(o TokenOptions) *TokenServer {
	if o.Realm == "" {
		o.Realm = "fakestac"
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = 300 * time.Second
	}
	if o.Scope == "" {
		o.Scope = "profile email"
	}
	if o.LoginClientID == "" {
		o.LoginClientID = "account"
	}
	o.BasePath = strings.TrimRight(o.BasePath, "/")
	if o.BasePath != "" && !strings.HasPrefix(o.BasePath, "/") {
		o.BasePath = "/" + o.BasePath
	}
	t := &TokenServer{
		Server:  New(Options{AssetsOnly: true}),
		opts:    o,
		tokens:  make(map[string]*tokenRec),
		fetches: make(map[string]int),
		granted: make(map[string]int),
	}
	t.Origin = t.Server.URL
	if o.Plain {
		t.tokenPath = o.BasePath + "/oauth2/token"
	} else {
		realm := o.BasePath + "/realms/" + url.PathEscape(o.Realm)
		t.Issuer = t.Origin + realm
		t.tokenPath = realm + "/protocol/openid-connect/token"
		t.authPath = realm + "/protocol/openid-connect/auth"
		t.Server.Handle(t.authPath, http.HandlerFunc(t.serveLogin))
		t.Server.Handle(realm+"/.well-known/openid-configuration", http.HandlerFunc(t.serveDiscovery))
	}
	t.Server.Handle(t.tokenPath, http.HandlerFunc(t.serveToken))
	for _, tok := range o.OfflineTokens {
		t.tokens[tok] = &tokenRec{sess: t.newSessionLocked(true), scope: "offline_access"}
	}
	return t
}

// URL returns the token endpoint URL.
func (t *TokenServer) URL() string { return t.Origin + t.tokenPath }

// LoginURL returns the login page URL that a redirect for redirectURI leads to.
func (t *TokenServer) LoginURL(redirectURI string) string {
	v := url.Values{}
	v.Set("client_id", t.opts.LoginClientID)
	v.Set("redirect_uri", redirectURI)
	v.Set("response_type", "code")
	v.Set("scope", "openid")
	return t.Origin + t.authPath + "?" + v.Encode()
}

// Realm returns the realm name.
func (t *TokenServer) Realm() string { return t.opts.Realm }

// Close shuts the server down.
func (t *TokenServer) Close() { t.Server.Close() }

// Requests returns the token server's request log.
func (t *TokenServer) Requests() []Request { return t.Server.Requests() }

// Valid reports whether token is a live access token: issued here, not expired, not revoked.
func (t *TokenServer) Valid(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.tokens[token]
	return rec != nil && rec.access && !rec.revoked && t.nowLocked().Before(rec.exp)
}

// Fetches returns the number of token requests with that grant_type, whatever their outcome
// (including those refused while SetDown).
func (t *TokenServer) Fetches(grant string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fetches[grant]
}

// Granted returns the number of successful token requests with that grant_type.
func (t *TokenServer) Granted(grant string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.granted[grant]
}

// RevokeAll revokes every access and refresh token issued so far, and every session (as a
// realm "revoke" or a logout of all sessions), offline tokens too unless
// KeepOfflineOnRevoke. Refreshing with a revoked token gives invalid_grant "Session not
// active"; the password and client_credentials grants keep working.
func (t *TokenServer) RevokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rec := range t.tokens {
		if rec.access {
			rec.revoked = true
			continue
		}
		if rec.sess.offline && t.opts.KeepOfflineOnRevoke {
			continue
		}
		rec.revoked = true
		rec.sess.ended = true
	}
}

// ExpireAccessTokens makes every access token issued so far expired now, as if its lifetime
// had run out (the clients still believe expires_in). Refresh tokens are untouched.
func (t *TokenServer) ExpireAccessTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.nowLocked()
	for _, rec := range t.tokens {
		if rec.access && rec.exp.After(now) {
			rec.exp = now
		}
	}
}

// Advance moves the token server's clock forward by d (it affects only this server's view of
// expiry, not expires_in of tokens already issued).
func (t *TokenServer) Advance(d time.Duration) {
	t.mu.Lock()
	t.skew += d
	t.mu.Unlock()
}

// SetDown makes every endpoint of the server answer 503 (an outage) while down is true.
func (t *TokenServer) SetDown(down bool) {
	t.mu.Lock()
	t.down = down
	t.mu.Unlock()
}

// IssueOfflineToken creates an offline session of client (and user, informative) and returns
// its offline refresh token, as if the user had logged in with scope offline_access.
func (t *TokenServer) IssueOfflineToken(client, user string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := t.mintLocked("Offline", client, user, "openid offline_access", time.Time{})
	t.tokens[tok] = &tokenRec{client: client, user: user, scope: "openid offline_access",
		sess: t.newSessionLocked(true)}
	return tok
}

func (t *TokenServer) nowLocked() time.Time { return time.Now().Add(t.skew) }

func (t *TokenServer) isDown() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.down
}

func (t *TokenServer) newSessionLocked(offline bool) *session {
	t.sessions++
	return &session{id: fmt.Sprintf("%08x-0000-4000-8000-%012x", t.sessions, t.sessions), offline: offline}
}

// mintLocked returns a new JWT-shaped token (an unsigned-looking but unique string whose
// payload carries typ, exp and the like, as Keycloak's do).
func (t *TokenServer) mintLocked(typ, client, user, scope string, exp time.Time) string {
	now := t.nowLocked()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	claims := map[string]any{
		"iat": now.Unix(), "jti": fmt.Sprintf("%x", jti[:]), "typ": typ, "azp": client,
		"iss": t.Issuer, "scope": scope,
	}
	if t.opts.Plain {
		claims["iss"] = t.Origin
	}
	if user != "" {
		claims["preferred_username"] = user
		claims["sub"] = user
	} else if client != "" {
		claims["sub"] = "service-account-" + client
	}
	if !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fakestac"})
	body, _ := json.Marshal(claims)
	var sig [32]byte
	_, _ = rand.Read(sig[:])
	enc := base64.RawURLEncoding
	return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString(sig[:])
}

// oauthError answers an OAuth2 error. desc "" leaves error_description out.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, "application/json", body)
}

func serviceUnavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>\n"))
}

// tokenFail is a refused token request.
type tokenFail struct {
	status      int
	code, descr string
}

func (t *TokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	grant := r.PostForm.Get("grant_type")
	t.mu.Lock()
	if r.Method == http.MethodPost {
		t.fetches[grant]++
	}
	down := t.down
	t.mu.Unlock()
	if down {
		serviceUnavailable(w)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "HTTP 405 Method Not Allowed")
		return
	}
	resp, fail := t.grant(r, grant)
	if fail != nil {
		if t.opts.Plain {
			fail.descr = ""
			if fail.status == http.StatusUnauthorized {
				fail.status = http.StatusBadRequest
			}
		}
		oauthError(w, fail.status, fail.code, fail.descr)
		return
	}
	t.mu.Lock()
	t.granted[grant]++
	t.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, "application/json", resp)
}

func (t *TokenServer) grant(r *http.Request, grant string) (map[string]any, *tokenFail) {
	if grant == "" {
		return nil, &tokenFail{http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type"}
	}
	if t.opts.Plain && grant != GrantClientCredentials || !slices.Contains([]string{GrantPassword, GrantRefreshToken, GrantClientCredentials}, grant) {
		return nil, &tokenFail{http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type"}
	}
	client, fail := t.authClient(r)
	if fail != nil {
		return nil, fail
	}
	public := t.opts.Clients[client] == ""
	if allowed, ok := t.opts.Grants[client]; ok && !slices.Contains(allowed, grant) || grant == GrantClientCredentials && public {
		switch {
		case grant == GrantClientCredentials && public:
			return nil, &tokenFail{http.StatusUnauthorized, "unauthorized_client", "Public client not allowed to retrieve service account"}
		case grant == GrantClientCredentials:
			return nil, &tokenFail{http.StatusUnauthorized, "unauthorized_client", "Client not enabled to retrieve service account"}
		case grant == GrantPassword:
			return nil, &tokenFail{http.StatusBadRequest, "unauthorized_client", "Client not allowed for direct access grants"}
		default:
			return nil, &tokenFail{http.StatusBadRequest, "unauthorized_client", "Client not allowed to use grant " + grant}
		}
	}
	scope := r.PostForm.Get("scope")
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.nowLocked()
	switch grant {
	case GrantClientCredentials:
		if scope == "" {
			scope = t.opts.Scope
		}
		access := t.issueAccessLocked(client, "", scope, nil)
		if t.opts.Plain {
			return map[string]any{"access_token": access, "expires_in": t.expiresIn(), "token_type": "Bearer"}, nil
		}
		return map[string]any{"access_token": access, "expires_in": t.expiresIn(), "refresh_expires_in": 0,
			"token_type": "Bearer", "not-before-policy": 0, "scope": scope}, nil

	case GrantPassword:
		user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
		if user == "" {
			return nil, &tokenFail{http.StatusUnauthorized, "invalid_grant", "Invalid user credentials"}
		}
		if want, ok := t.opts.Users[user]; !ok || want != pass {
			return nil, &tokenFail{http.StatusUnauthorized, "invalid_grant", "Invalid user credentials"}
		}
		if scope == "" {
			scope = t.opts.Scope
		}
		sess := t.newSessionLocked(hasScope(scope, "offline_access"))
		return t.pairLocked(client, user, scope, sess), nil

	default: // refresh_token
		rt := r.PostForm.Get("refresh_token")
		if rt == "" {
			return nil, &tokenFail{http.StatusBadRequest, "invalid_request", "Missing form parameter: refresh_token"}
		}
		rec := t.tokens[rt]
		switch {
		case rec == nil || rec.access:
			return nil, &tokenFail{http.StatusBadRequest, "invalid_grant", "Invalid refresh token"}
		case rec.client != "" && rec.client != client:
			return nil, &tokenFail{http.StatusBadRequest, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"}
		case rec.revoked || rec.sess.ended:
			return nil, &tokenFail{http.StatusBadRequest, "invalid_grant", "Session not active"}
		case !rec.exp.IsZero() && !now.Before(rec.exp):
			return nil, &tokenFail{http.StatusBadRequest, "invalid_grant", "Token is not active"}
		case t.opts.Rotate && rec.used:
			rec.sess.ended = true
			return nil, &tokenFail{http.StatusBadRequest, "invalid_grant", "Maximum allowed refresh token reuse exceeded"}
		}
		rec.used = true
		if scope == "" {
			scope = rec.scope
		}
		return t.pairLocked(client, rec.user, scope, rec.sess), nil
	}
}

func hasScope(scope, want string) bool { return slices.Contains(strings.Fields(scope), want) }

func (t *TokenServer) expiresIn() int64 {
	return max(int64(t.opts.AccessTTL/time.Second), 1)
}

func (t *TokenServer) issueAccessLocked(client, user, scope string, sess *session) string {
	exp := t.nowLocked().Add(t.opts.AccessTTL)
	tok := t.mintLocked("Bearer", client, user, scope, exp)
	t.tokens[tok] = &tokenRec{access: true, client: client, user: user, scope: scope, sess: sess, exp: exp}
	return tok
}

// pairLocked issues an access token and a refresh token of sess, Keycloak style.
func (t *TokenServer) pairLocked(client, user, scope string, sess *session) map[string]any {
	access := t.issueAccessLocked(client, user, scope, sess)
	var exp time.Time
	refreshIn := int64(0)
	typ := "Offline"
	if !sess.offline {
		typ = "Refresh"
		if t.opts.RefreshTTL > 0 {
			exp = t.nowLocked().Add(t.opts.RefreshTTL)
			refreshIn = max(int64(t.opts.RefreshTTL/time.Second), 1)
		}
	}
	refresh := t.mintLocked(typ, client, user, scope, exp)
	t.tokens[refresh] = &tokenRec{client: client, user: user, scope: scope, sess: sess, exp: exp}
	resp := map[string]any{
		"access_token":       access,
		"expires_in":         t.expiresIn(),
		"refresh_expires_in": refreshIn,
		"refresh_token":      refresh,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"session_state":      sess.id,
		"scope":              scope,
	}
	if hasScope(scope, "openid") {
		resp["id_token"] = t.mintLocked("ID", client, user, scope, t.nowLocked().Add(t.opts.AccessTTL))
	}
	return resp
}

// authClient authenticates the client of a token request by the accepted styles.
func (t *TokenServer) authClient(r *http.Request) (string, *tokenFail) {
	bad := &tokenFail{http.StatusUnauthorized, "invalid_client", "Invalid client or Invalid client credentials"}
	var id, secret string
	basic := false
	if u, p, ok := r.BasicAuth(); ok && t.opts.ClientAuth != ClientAuthForm {
		// RFC 6749 2.3.1: both are form-urlencoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return "", bad
		}
		basic = true
	}
	if fid := r.PostForm.Get("client_id"); !basic {
		id = fid
		if t.opts.ClientAuth != ClientAuthBasic {
			secret = r.PostForm.Get("client_secret")
		}
	} else if fid != "" && fid != id {
		return "", bad
	}
	want, ok := t.opts.Clients[id]
	if !ok || (want != "" && secret != want) {
		return "", bad
	}
	return id, nil
}

func (t *TokenServer) serveLogin(w http.ResponseWriter, r *http.Request) {
	if t.isDown() {
		serviceUnavailable(w)
		return
	}
	q := r.URL.Query()
	page := fmt.Sprintf(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to %[1]s</title></head>
<body><h1>Sign in to your account</h1>
<form id="kc-form-login" method="post" action="%[2]s">
<input id="username" name="username" type="text"><input id="password" name="password" type="password">
<input type="submit" value="Sign In"></form>
<!-- client_id=%[3]s redirect_uri=%[4]s -->
</body></html>
`, html.EscapeString(t.opts.Realm), html.EscapeString(t.Origin+t.authPath),
		html.EscapeString(q.Get("client_id")), html.EscapeString(q.Get("redirect_uri")))
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(page))
	}
}

func (t *TokenServer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if t.isDown() {
		serviceUnavailable(w)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"issuer":                                t.Issuer,
		"authorization_endpoint":                t.Origin + t.authPath,
		"token_endpoint":                        t.URL(),
		"grant_types_supported":                 []string{"authorization_code", GrantPassword, GrantRefreshToken, GrantClientCredentials},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}
