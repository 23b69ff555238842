package fakestac

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenReply is a decoded token endpoint answer.
type tokenReply struct {
	status int
	body   map[string]any
}

func (r tokenReply) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

func (r tokenReply) num(k string) (float64, bool) {
	f, ok := r.body[k].(float64)
	return f, ok
}

// postToken posts form to endpoint, with HTTP Basic when basic[0] != "".
func postToken(t *testing.T, c *http.Client, endpoint string, form url.Values, basic [2]string) tokenReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic[0] != "" {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: status %d, undecodable body: %v", endpoint, resp.StatusCode, err)
	}
	return tokenReply{status: resp.StatusCode, body: body}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func noRedirectClient(t *testing.T) *http.Client {
	c := newClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func newTestTokenServer(t *testing.T, o TokenOptions) *TokenServer {
	t.Helper()
	if o.Clients == nil {
		o.Clients = map[string]string{"conf": "s3cr3t", "pub": "", "cc-only": "x", "pw-only": "y"}
	}
	if o.Grants == nil {
		o.Grants = map[string][]string{"cc-only": {GrantClientCredentials}, "pw-only": {GrantPassword}}
	}
	if o.Users == nil {
		o.Users = map[string]string{"alice": "wonder land"}
	}
	ts := NewTokenServer(o)
	t.Cleanup(ts.Close)
	return ts
}

func TestTokenGrants(t *testing.T) {
	ts := newTestTokenServer(t, TokenOptions{Realm: "r1", AccessTTL: 5 * time.Second, RefreshTTL: time.Minute})
	c := newClient(t)
	for _, tc := range []struct {
		name       string
		form       url.Values
		basic      [2]string
		status     int
		err, desc  string
		hasRefresh bool
		scope      string
		refreshIn  float64
	}{
		{name: "password public client", form: form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "wonder land"),
			status: 200, hasRefresh: true, scope: "profile email", refreshIn: 60},
		{name: "password scope echo and id_token", form: form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "wonder land", "scope", "openid profile"),
			status: 200, hasRefresh: true, scope: "openid profile", refreshIn: 60},
		{name: "password offline_access gives an offline token", form: form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "wonder land", "scope", "openid offline_access"),
			status: 200, hasRefresh: true, scope: "openid offline_access", refreshIn: 0},
		{name: "password wrong", form: form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "nope"),
			status: 401, err: "invalid_grant", desc: "Invalid user credentials"},
		{name: "password unknown user", form: form("grant_type", "password", "client_id", "pub", "username", "bob", "password", "x"),
			status: 401, err: "invalid_grant", desc: "Invalid user credentials"},
		{name: "password confidential via basic", form: form("grant_type", "password", "username", "alice", "password", "wonder land"),
			basic: [2]string{"conf", "s3cr3t"}, status: 200, hasRefresh: true, scope: "profile email", refreshIn: 60},
		{name: "client_credentials basic", form: form("grant_type", "client_credentials"), basic: [2]string{"conf", "s3cr3t"},
			status: 200, scope: "profile email"},
		{name: "client_credentials form, scope echo", form: form("grant_type", "client_credentials", "client_id", "conf", "client_secret", "s3cr3t", "scope", "read"),
			status: 200, scope: "read"},
		{name: "client_credentials bad secret", form: form("grant_type", "client_credentials"), basic: [2]string{"conf", "wrong"},
			status: 401, err: "invalid_client", desc: "Invalid client or Invalid client credentials"},
		{name: "client_credentials no secret", form: form("grant_type", "client_credentials", "client_id", "conf"),
			status: 401, err: "invalid_client", desc: "Invalid client or Invalid client credentials"},
		{name: "unknown client", form: form("grant_type", "client_credentials", "client_id", "who", "client_secret", "x"),
			status: 401, err: "invalid_client", desc: "Invalid client or Invalid client credentials"},
		{name: "no client at all", form: form("grant_type", "password", "username", "alice", "password", "wonder land"),
			status: 401, err: "invalid_client", desc: "Invalid client or Invalid client credentials"},
		{name: "client_credentials public client", form: form("grant_type", "client_credentials", "client_id", "pub"),
			status: 401, err: "unauthorized_client", desc: "Public client not allowed to retrieve service account"},
		{name: "client_credentials not enabled", form: form("grant_type", "client_credentials", "client_id", "pw-only", "client_secret", "y"),
			status: 401, err: "unauthorized_client", desc: "Client not enabled to retrieve service account"},
		{name: "password not enabled", form: form("grant_type", "password", "client_id", "cc-only", "client_secret", "x", "username", "alice", "password", "wonder land"),
			status: 400, err: "unauthorized_client", desc: "Client not allowed for direct access grants"},
		{name: "unsupported grant", form: form("grant_type", "urn:example:magic", "client_id", "pub"),
			status: 400, err: "unsupported_grant_type", desc: "Unsupported grant_type"},
		{name: "missing grant", form: form("client_id", "pub"),
			status: 400, err: "invalid_request", desc: "Missing form parameter: grant_type"},
		{name: "refresh garbage", form: form("grant_type", "refresh_token", "client_id", "pub", "refresh_token", "garbage"),
			status: 400, err: "invalid_grant", desc: "Invalid refresh token"},
		{name: "refresh with an access token", form: nil, // filled below
			status: 400, err: "invalid_grant", desc: "Invalid refresh token"},
		{name: "refresh missing", form: form("grant_type", "refresh_token", "client_id", "pub"),
			status: 400, err: "invalid_request", desc: "Missing form parameter: refresh_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			if f == nil {
				r := postToken(t, c, ts.URL(), form("grant_type", "client_credentials"), [2]string{"conf", "s3cr3t"})
				f = form("grant_type", "refresh_token", "client_id", "conf", "client_secret", "s3cr3t", "refresh_token", r.str("access_token"))
			}
			r := postToken(t, c, ts.URL(), f, tc.basic)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %v", r.status, tc.status, r.body)
			}
			if tc.err != "" {
				if r.str("error") != tc.err || r.str("error_description") != tc.desc {
					t.Fatalf("got %v, want error %q %q", r.body, tc.err, tc.desc)
				}
				return
			}
			if _, has := r.body["refresh_token"]; has != tc.hasRefresh {
				t.Errorf("refresh_token present %v, want %v", has, tc.hasRefresh)
			}
			if in, _ := r.num("expires_in"); in != 5 {
				t.Errorf("expires_in %v, want 5", r.body["expires_in"])
			}
			if in, ok := r.num("refresh_expires_in"); !ok || in != tc.refreshIn {
				t.Errorf("refresh_expires_in %v, want %v", r.body["refresh_expires_in"], tc.refreshIn)
			}
			if r.str("token_type") != "Bearer" || r.str("scope") != tc.scope {
				t.Errorf("token_type %q scope %q, want Bearer %q", r.str("token_type"), r.str("scope"), tc.scope)
			}
			if _, has := r.body["id_token"]; has != strings.Contains(tc.scope, "openid") {
				t.Errorf("id_token present %v with scope %q", has, tc.scope)
			}
			if !ts.Valid(r.str("access_token")) {
				t.Error("issued access token is not Valid")
			}
			if tc.hasRefresh && ts.Valid(r.str("refresh_token")) {
				t.Error("a refresh token is Valid as an access token")
			}
			if parts := strings.Split(r.str("access_token"), "."); len(parts) != 3 {
				t.Errorf("access token %q is not JWT-shaped", r.str("access_token"))
			}
		})
	}
	if ts.Valid("") || ts.Valid("garbage") {
		t.Error("garbage is Valid")
	}
	if n := ts.Fetches(GrantPassword); n != 8 {
		t.Errorf("Fetches(password) = %d, want 8", n)
	}
	if n := ts.Granted(GrantPassword); n != 4 {
		t.Errorf("Granted(password) = %d, want 4", n)
	}
	code, _, _ := do(t, c, http.MethodGet, ts.URL(), nil, nil)
	if code != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %d, want 405", code)
	}
	if !strings.HasSuffix(ts.URL(), "/realms/r1/protocol/openid-connect/token") {
		t.Errorf("URL() = %s", ts.URL())
	}
}

func TestClientAuthStyles(t *testing.T) {
	good := [2]string{"conf", "s3cr3t"}
	ccForm := form("grant_type", "client_credentials", "client_id", "conf", "client_secret", "s3cr3t")
	cc := form("grant_type", "client_credentials")
	for _, tc := range []struct {
		name   string
		style  ClientAuth
		plain  bool
		form   url.Values
		basic  [2]string
		status int
		err    string
	}{
		{"any/basic", ClientAuthAny, false, cc, good, 200, ""},
		{"any/form", ClientAuthAny, false, ccForm, [2]string{}, 200, ""},
		{"basic/basic", ClientAuthBasic, false, cc, good, 200, ""},
		{"basic/form refused", ClientAuthBasic, false, ccForm, [2]string{}, 401, "invalid_client"},
		{"form/form", ClientAuthForm, false, ccForm, [2]string{}, 200, ""},
		{"form/basic refused", ClientAuthForm, false, cc, good, 401, "invalid_client"},
		{"basic id disagrees with form id", ClientAuthAny, false, form("grant_type", "client_credentials", "client_id", "pub"), good, 401, "invalid_client"},
		{"plain basic", ClientAuthBasic, true, cc, good, 200, ""},
		{"plain basic/form refused", ClientAuthBasic, true, ccForm, [2]string{}, 400, "invalid_client"},
		{"plain form/basic refused", ClientAuthForm, true, cc, good, 400, "invalid_client"},
		{"plain password unsupported", ClientAuthAny, true, form("grant_type", "password", "username", "alice", "password", "wonder land"), good, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestTokenServer(t, TokenOptions{ClientAuth: tc.style, Plain: tc.plain})
			r := postToken(t, newClient(t), ts.URL(), tc.form, tc.basic)
			if r.status != tc.status || r.str("error") != tc.err {
				t.Fatalf("got %d %v, want %d %q", r.status, r.body, tc.status, tc.err)
			}
			if tc.plain {
				if tc.err != "" {
					if len(r.body) != 1 {
						t.Errorf("plain error body %v, want only error", r.body)
					}
					return
				}
				if len(r.body) != 3 || r.str("token_type") != "Bearer" || r.str("access_token") == "" || r.body["expires_in"] != float64(300) {
					t.Errorf("plain answer %v, want access_token, expires_in 300, token_type Bearer", r.body)
				}
				if !strings.HasSuffix(ts.URL(), "/oauth2/token") {
					t.Errorf("plain URL() = %s", ts.URL())
				}
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	login := form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "wonder land")
	refresh := func(rt string) url.Values {
		return form("grant_type", "refresh_token", "client_id", "pub", "refresh_token", rt)
	}
	t.Run("rotate", func(t *testing.T) {
		ts := newTestTokenServer(t, TokenOptions{Rotate: true, RefreshTTL: time.Hour})
		c := newClient(t)
		r0 := postToken(t, c, ts.URL(), login, [2]string{})
		rt1 := r0.str("refresh_token")
		r1 := postToken(t, c, ts.URL(), refresh(rt1), [2]string{})
		rt2 := r1.str("refresh_token")
		if r1.status != 200 || rt2 == "" || rt2 == rt1 {
			t.Fatalf("first refresh: %d %v", r1.status, r1.body)
		}
		if !ts.Valid(r0.str("access_token")) || !ts.Valid(r1.str("access_token")) {
			t.Error("access tokens should stay valid after a refresh")
		}
		r2 := postToken(t, c, ts.URL(), refresh(rt2), [2]string{})
		rt3 := r2.str("refresh_token")
		if r2.status != 200 {
			t.Fatalf("second refresh: %d %v", r2.status, r2.body)
		}
		// Reusing a spent token fails and ends the session: the newest dies too.
		r := postToken(t, c, ts.URL(), refresh(rt1), [2]string{})
		if r.status != 400 || r.str("error") != "invalid_grant" || r.str("error_description") != "Maximum allowed refresh token reuse exceeded" {
			t.Fatalf("reuse: %d %v", r.status, r.body)
		}
		r = postToken(t, c, ts.URL(), refresh(rt3), [2]string{})
		if r.status != 400 || r.str("error_description") != "Session not active" {
			t.Fatalf("newest after reuse: %d %v", r.status, r.body)
		}
		// The password still works.
		if r := postToken(t, c, ts.URL(), login, [2]string{}); r.status != 200 {
			t.Fatalf("login again: %d %v", r.status, r.body)
		}
	})
	t.Run("no rotate", func(t *testing.T) {
		ts := newTestTokenServer(t, TokenOptions{RefreshTTL: time.Hour})
		c := newClient(t)
		rt := postToken(t, c, ts.URL(), login, [2]string{}).str("refresh_token")
		seen := map[string]bool{rt: true}
		for i := range 3 {
			r := postToken(t, c, ts.URL(), refresh(rt), [2]string{})
			if r.status != 200 || seen[r.str("refresh_token")] {
				t.Fatalf("refresh %d: %d %v", i, r.status, r.body)
			}
			seen[r.str("refresh_token")] = true
		}
		if n := ts.Fetches(GrantRefreshToken); n != 3 {
			t.Errorf("Fetches(refresh_token) = %d", n)
		}
	})
	t.Run("other client", func(t *testing.T) {
		ts := newTestTokenServer(t, TokenOptions{})
		c := newClient(t)
		rt := postToken(t, c, ts.URL(), login, [2]string{}).str("refresh_token")
		r := postToken(t, c, ts.URL(), form("grant_type", "refresh_token", "refresh_token", rt), [2]string{"conf", "s3cr3t"})
		if r.status != 400 || r.str("error") != "invalid_grant" {
			t.Fatalf("refresh by another client: %d %v", r.status, r.body)
		}
	})
}

func TestTokenLapseAndRevoke(t *testing.T) {
	login := form("grant_type", "password", "client_id", "pub", "username", "alice", "password", "wonder land")
	refresh := func(rt string) url.Values {
		return form("grant_type", "refresh_token", "client_id", "pub", "refresh_token", rt)
	}
	t.Run("access and refresh expiry", func(t *testing.T) {
		ts := newTestTokenServer(t, TokenOptions{AccessTTL: 2 * time.Second, RefreshTTL: 10 * time.Second})
		c := newClient(t)
		r := postToken(t, c, ts.URL(), login, [2]string{})
		at, rt := r.str("access_token"), r.str("refresh_token")
		if r.body["expires_in"] != float64(2) || r.body["refresh_expires_in"] != float64(10) {
			t.Fatalf("lifetimes: %v", r.body)
		}
		ts.Advance(3 * time.Second)
		if ts.Valid(at) {
			t.Error("access token valid after its lifetime")
		}
		r = postToken(t, c, ts.URL(), refresh(rt), [2]string{})
		if r.status != 200 || !ts.Valid(r.str("access_token")) {
			t.Fatalf("refresh: %d %v", r.status, r.body)
		}
		ts.ExpireAccessTokens()
		if ts.Valid(r.str("access_token")) {
			t.Error("access token valid after ExpireAccessTokens")
		}
		ts.Advance(11 * time.Second)
		r = postToken(t, c, ts.URL(), refresh(r.str("refresh_token")), [2]string{})
		if r.status != 400 || r.str("error_description") != "Token is not active" {
			t.Fatalf("expired refresh: %d %v", r.status, r.body)
		}
	})
	t.Run("real clock", func(t *testing.T) {
		t.Parallel()
		ts := newTestTokenServer(t, TokenOptions{AccessTTL: time.Second})
		at := postToken(t, newClient(t), ts.URL(), login, [2]string{}).str("access_token")
		if !ts.Valid(at) {
			t.Fatal("fresh token not valid")
		}
		time.Sleep(1100 * time.Millisecond)
		if ts.Valid(at) {
			t.Error("token valid after 1.1 s with a 1 s lifetime")
		}
	})
	for _, keep := range []bool{false, true} {
		t.Run("revoke keep offline "+map[bool]string{false: "no", true: "yes"}[keep], func(t *testing.T) {
			ts := newTestTokenServer(t, TokenOptions{KeepOfflineOnRevoke: keep, OfflineTokens: []string{"pre-issued"}})
			c := newClient(t)
			offline := ts.IssueOfflineToken("conf", "alice")
			r := postToken(t, c, ts.URL(), login, [2]string{})
			cc := postToken(t, c, ts.URL(), form("grant_type", "client_credentials"), [2]string{"conf", "s3cr3t"})
			ts.RevokeAll()
			for _, at := range []string{r.str("access_token"), cc.str("access_token")} {
				if ts.Valid(at) {
					t.Error("access token valid after RevokeAll")
				}
			}
			if r := postToken(t, c, ts.URL(), refresh(r.str("refresh_token")), [2]string{}); r.status != 400 || r.str("error_description") != "Session not active" {
				t.Errorf("revoked refresh: %d %v", r.status, r.body)
			}
			for _, tok := range []string{offline, "pre-issued"} {
				r := postToken(t, c, ts.URL(), form("grant_type", "refresh_token", "refresh_token", tok), [2]string{"conf", "s3cr3t"})
				if keep != (r.status == 200) {
					t.Errorf("offline %s after RevokeAll (keep %v): %d %v", tok, keep, r.status, r.body)
				}
			}
			if r := postToken(t, c, ts.URL(), login, [2]string{}); r.status != 200 {
				t.Errorf("password after RevokeAll: %d", r.status)
			}
		})
	}
}

func TestTokenServerDown(t *testing.T) {
	ts := newTestTokenServer(t, TokenOptions{})
	c := newClient(t)
	ts.SetDown(true)
	code, hdr, _ := do(t, c, http.MethodPost, ts.URL(), []byte("grant_type=client_credentials"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("down: %d %s", code, hdr.Get("Content-Type"))
	}
	if code, _, _ := do(t, c, http.MethodGet, ts.LoginURL("http://x/"), nil, nil); code != http.StatusServiceUnavailable {
		t.Errorf("login page while down: %d", code)
	}
	if ts.Fetches(GrantClientCredentials) != 1 || ts.Granted(GrantClientCredentials) != 0 {
		t.Errorf("counters while down: %d %d", ts.Fetches(GrantClientCredentials), ts.Granted(GrantClientCredentials))
	}
	ts.SetDown(false)
	if r := postToken(t, c, ts.URL(), form("grant_type", "client_credentials"), [2]string{"conf", "s3cr3t"}); r.status != 200 {
		t.Fatalf("up again: %d %v", r.status, r.body)
	}
	if ts.Granted(GrantClientCredentials) != 1 {
		t.Error("Granted not counted")
	}
}

func TestRequireBearer(t *testing.T) {
	ts := newTestTokenServer(t, TokenOptions{Realm: "demo", BasePath: "/auth", LoginClientID: "web"})
	c := noRedirectClient(t)
	stale := postToken(t, c, ts.URL(), form("grant_type", "client_credentials"), [2]string{"conf", "s3cr3t"}).str("access_token")
	s := New(Options{})
	t.Cleanup(s.Close)
	s.AddAsset(Asset{Path: "/data/a.bin", Size: 1000, Seed: 3})
	s.AddAsset(Asset{Path: "/download/b.bin", Size: 1000, Seed: 4})
	s.AddAsset(Asset{Path: "/open/c.bin", Size: 10})
	s.RequireBearer(ts, "/data/", Answer401)
	s.RequireBearer(ts, "/download/", RedirectToLogin)
	ts.ExpireAccessTokens()
	good := postToken(t, c, ts.URL(), form("grant_type", "client_credentials"), [2]string{"conf", "s3cr3t"}).str("access_token")

	for _, tc := range []struct {
		name, path, auth string
		status           int
		wwwAuth          string
	}{
		{"401 missing", "/data/a.bin", "", 401, `Bearer realm="demo"`},
		{"401 stale", "/data/a.bin", "Bearer " + stale, 401, `Bearer realm="demo", error="invalid_token", error_description="Token verification failed"`},
		{"401 wrong scheme", "/data/a.bin", "Basic Zm9vOmJhcg==", 401, `Bearer realm="demo", error="invalid_token", error_description="Token verification failed"`},
		{"200 good", "/data/a.bin", "Bearer " + good, 200, ""},
		{"302 missing", "/download/b.bin", "", 302, ""},
		{"302 stale", "/download/b.bin", "Bearer " + stale, 302, ""},
		{"200 good download", "/download/b.bin", "bearer " + good, 200, ""},
		{"open path", "/open/c.bin", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			code, h, body := do(t, c, http.MethodGet, s.Href(tc.path), nil, hdr)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			switch code {
			case 401:
				if got := h.Get("WWW-Authenticate"); got != tc.wwwAuth {
					t.Errorf("WWW-Authenticate %q, want %q", got, tc.wwwAuth)
				}
				var e apiError
				if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
					t.Errorf("401 body %q: %v", body, err)
				}
			case 302:
				loc, err := url.Parse(h.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				q := loc.Query()
				if loc.Scheme+"://"+loc.Host != ts.Origin || loc.Path != "/auth/realms/demo/protocol/openid-connect/auth" ||
					q.Get("client_id") != "web" || q.Get("response_type") != "code" || q.Get("redirect_uri") != s.Href(tc.path) {
					t.Fatalf("Location %s", loc)
				}
				code, h, page := do(t, c, http.MethodGet, loc.String(), nil, nil)
				if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "<form") {
					t.Fatalf("login page: %d %s %.80s", code, h.Get("Content-Type"), page)
				}
			case 200:
				if tc.path != "/open/c.bin" && len(body) != 1000 {
					t.Errorf("body %d bytes", len(body))
				}
			}
		})
	}
	// The login page request carried no Authorization (the test client did not send any).
	for _, r := range ts.Requests() {
		if strings.HasSuffix(r.Path, "/auth") && r.Header.Get("Authorization") != "" {
			t.Error("login page got Authorization")
		}
	}
	// Discovery document.
	code, _, body := do(t, c, http.MethodGet, ts.Issuer+"/.well-known/openid-configuration", nil, nil)
	var disc map[string]any
	if err := json.Unmarshal(body, &disc); code != 200 || err != nil || disc["token_endpoint"] != ts.URL() {
		t.Errorf("discovery: %d %s", code, body)
	}
}
