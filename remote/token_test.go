package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Secrets used by the tests; no error or log line may show them.
const (
	testSecret   = "cl1ent-SECRET-value"
	testPassword = "pa55-word-SECRET"
	testOffline  = "offline-SECRET-token"
)

// fakeIdP is a Keycloak-like token endpoint. Refresh tokens it issues work once when
// rotate is set; offline tokens always work; access tokens live accessTTL seconds.
type fakeIdP struct {
	t          *testing.T
	clientID   string
	secret     string // "" for a public client
	clientAuth string // "basic" or "form": where the client must authenticate
	users      map[string]string
	accessTTL  int
	refreshTTL int  // refresh_expires_in sent with refresh tokens (0: none)
	rotate     bool // each refresh token works once
	delay      time.Duration
	block      chan struct{} // when set, requests wait for it to close
	echoSecret bool          // error_description repeats the submitted secret (scrubbing test)

	mu       sync.Mutex
	seq      int
	refresh  map[string]bool // usable refresh tokens
	offline  map[string]bool // always-usable refresh tokens
	access   map[string]bool // live access tokens
	requests []idpRequest
}

// idpRequest is one request the IdP served.
type idpRequest struct {
	grant, refreshToken, style string
	ok                         bool
}

func newIdP(t *testing.T) *fakeIdP {
	return &fakeIdP{
		t: t, clientID: "stacfs", clientAuth: ClientAuthForm,
		users:     map[string]string{"alice": testPassword},
		accessTTL: 300,
		refresh:   map[string]bool{}, offline: map[string]bool{}, access: map[string]bool{},
	}
}

// start serves the IdP; it returns the token URL.
func (p *fakeIdP) start() string {
	srv := httptest.NewServer(p)
	p.t.Cleanup(srv.Close)
	return srv.URL + "/realms/test/protocol/openid-connect/token"
}

func (p *fakeIdP) fail(w http.ResponseWriter, code int, e, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e, "error_description": desc})
}

func (p *fakeIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.block != nil {
		<-p.block
	}
	time.Sleep(p.delay)
	if r.Method != http.MethodPost {
		p.t.Errorf("token request with %s", r.Method)
	}
	if err := r.ParseForm(); err != nil {
		p.t.Errorf("token request form: %v", err)
	}
	rec := idpRequest{grant: r.PostForm.Get("grant_type"), refreshToken: r.PostForm.Get("refresh_token")}
	user, pass, basic := r.BasicAuth()
	formID, formSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	switch {
	case basic:
		rec.style = ClientAuthBasic
	case formSecret != "":
		rec.style = ClientAuthForm
	default:
		rec.style = "public"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() { p.requests = append(p.requests, rec) }()

	clientOK := false
	switch {
	case p.secret == "":
		clientOK = formID == p.clientID && !basic
	case p.clientAuth == ClientAuthBasic:
		clientOK = basic && user == p.clientID && pass == p.secret && formSecret == "" && formID == ""
	default:
		clientOK = !basic && formID == p.clientID && formSecret == p.secret
	}
	if !clientOK {
		desc := "Invalid client credentials"
		if p.echoSecret {
			desc += " (got " + formSecret + pass + ")"
		}
		p.fail(w, http.StatusUnauthorized, "invalid_client", desc)
		return
	}
	withRefresh := true
	switch rec.grant {
	case "password":
		if want, ok := p.users[r.PostForm.Get("username")]; !ok || want != r.PostForm.Get("password") {
			p.fail(w, http.StatusUnauthorized, "invalid_grant", "Invalid user credentials")
			return
		}
	case "refresh_token":
		rt := rec.refreshToken
		switch {
		case p.offline[rt]:
		case p.refresh[rt]:
			if p.rotate {
				delete(p.refresh, rt)
			}
		default:
			p.fail(w, http.StatusBadRequest, "invalid_grant", "Token is not active")
			return
		}
	case "client_credentials":
		withRefresh = false
	default:
		p.fail(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type")
		return
	}
	p.seq++
	resp := map[string]any{
		"access_token": fmt.Sprintf("at-%d", p.seq),
		"token_type":   "Bearer",
		"expires_in":   p.accessTTL,
	}
	p.access[resp["access_token"].(string)] = true
	if withRefresh {
		rt := fmt.Sprintf("rt-%d", p.seq)
		if !p.rotate && rec.grant == "refresh_token" {
			rt = rec.refreshToken
		}
		p.refresh[rt] = true
		resp["refresh_token"] = rt
		resp["refresh_expires_in"] = p.refreshTTL
	}
	rec.ok = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// log returns the requests served so far as "grant(refresh token)" or "grant", with
// "!" appended to refused ones.
func (p *fakeIdP) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.requests {
		s := r.grant
		if r.refreshToken != "" {
			s += "(" + r.refreshToken + ")"
		}
		if !r.ok {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

func (p *fakeIdP) styles() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.requests {
		out = append(out, r.style)
	}
	return out
}

// revokeRefresh makes every issued refresh token unusable (offline ones stay).
func (p *fakeIdP) revokeRefresh() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh = map[string]bool{}
}

// revokeAccess makes an access token unusable.
func (p *fakeIdP) revokeAccess(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.access, tok)
}

// valid reports whether tok is a live access token.
func (p *fakeIdP) valid(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.access[tok]
}

// testClock is a clock the test moves forward.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// newTestTokens builds Tokens on a test clock.
func newTestTokens(t *testing.T, cfg AuthConfig) (*Tokens, *testClock) {
	t.Helper()
	tok, err := NewTokens(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{}
	tok.now = clk.Now
	return tok, clk
}

// mustToken gets a token or fails the test.
func mustToken(t *testing.T, tok *Tokens) string {
	t.Helper()
	s, err := tok.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewTokensValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  AuthConfig
		want string // substring of the error; "" means valid
	}{
		{"none", AuthConfig{Type: "none"}, ""},
		{"empty", AuthConfig{}, ""},
		{"bearer", AuthConfig{Type: "bearer", Token: "x"}, ""},
		{"bearer no token", AuthConfig{Type: "bearer"}, "Token"},
		{"unknown", AuthConfig{Type: "kerberos"}, "unknown auth type"},
		{"password no url", AuthConfig{Type: "password", ClientID: "c", Username: "u", Password: "p"}, "TokenURL"},
		{"password no user", AuthConfig{Type: "password", TokenURL: "https://h/t", ClientID: "c", Password: "p"}, "Username"},
		{"password no password", AuthConfig{Type: "password", TokenURL: "https://h/t", ClientID: "c", Username: "u"}, "Password"},
		{"password public client", AuthConfig{Type: "password", TokenURL: "https://h/t", ClientID: "c", Username: "u", Password: "p"}, ""},
		{"refresh no token", AuthConfig{Type: "refresh_token", TokenURL: "https://h/t", ClientID: "c"}, "RefreshToken"},
		{"refresh no client", AuthConfig{Type: "refresh_token", TokenURL: "https://h/t", RefreshToken: "r"}, "ClientID"},
		{"cc no secret", AuthConfig{Type: "client_credentials", TokenURL: "https://h/t", ClientID: "c"}, "ClientSecret"},
		{"relative url", AuthConfig{Type: "client_credentials", TokenURL: "/t", ClientID: "c", ClientSecret: "s"}, "TokenURL"},
		{"bad client auth", AuthConfig{Type: "client_credentials", TokenURL: "https://h/t", ClientID: "c", ClientSecret: "s", ClientAuth: "jwt"}, "ClientAuth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTokens(tt.cfg, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestGrants runs each grant against the fake IdP through a sequence of steps.
func TestGrants(t *testing.T) {
	type step struct {
		advance time.Duration // clock moves before Token
		before  func(p *fakeIdP)
		want    string // the token Token returns
	}
	tests := []struct {
		name    string
		idp     func(p *fakeIdP)
		cfg     AuthConfig
		steps   []step
		wantLog []string // requests the IdP saw
		styles  []string // client authentication of each request, when checked
	}{
		{
			name: "password then rotated refreshes",
			idp:  func(p *fakeIdP) { p.rotate = true; p.refreshTTL = 1800 },
			cfg:  AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: testPassword},
			steps: []step{
				{want: "at-1"},
				{advance: time.Minute, want: "at-1"},
				{advance: 5 * time.Minute, want: "at-2"},
				{advance: 5 * time.Minute, want: "at-3"},
			},
			wantLog: []string{"password", "refresh_token(rt-1)", "refresh_token(rt-2)"},
			styles:  []string{"public", "public", "public"},
		},
		{
			name: "password re-login after invalid_grant",
			idp:  func(p *fakeIdP) { p.rotate = true },
			cfg:  AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: testPassword},
			steps: []step{
				{want: "at-1"},
				{advance: 10 * time.Minute, before: (*fakeIdP).revokeRefresh, want: "at-2"},
				{advance: 10 * time.Minute, want: "at-3"},
			},
			wantLog: []string{"password", "refresh_token(rt-1)!", "password", "refresh_token(rt-2)"},
		},
		{
			name: "password re-login when the refresh token lapsed",
			idp:  func(p *fakeIdP) { p.rotate = true; p.refreshTTL = 600 },
			cfg:  AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: testPassword},
			steps: []step{
				{want: "at-1"},
				{advance: 6 * time.Minute, want: "at-2"},  // refresh: rt-1 valid until 10 min
				{advance: 11 * time.Minute, want: "at-3"}, // rt-2 lapsed: log in again
			},
			wantLog: []string{"password", "refresh_token(rt-1)", "password"},
		},
		{
			name: "password confidential client with basic auth",
			idp:  func(p *fakeIdP) { p.secret = testSecret; p.clientAuth = ClientAuthBasic },
			cfg: AuthConfig{Type: "password", ClientID: "stacfs", ClientSecret: testSecret, ClientAuth: "basic",
				Username: "alice", Password: testPassword},
			steps:   []step{{want: "at-1"}, {advance: time.Hour, want: "at-2"}},
			wantLog: []string{"password", "refresh_token(rt-1)"},
			styles:  []string{"basic", "basic"},
		},
		{
			name: "offline token kept (ESA)",
			idp: func(p *fakeIdP) {
				p.secret = testSecret
				p.rotate = true
				p.offline[testOffline] = true
			},
			cfg: AuthConfig{Type: "refresh_token", ClientID: "stacfs", ClientSecret: testSecret,
				RefreshToken: testOffline, KeepRefreshToken: true},
			steps:   []step{{want: "at-1"}, {advance: time.Hour, want: "at-2"}, {advance: time.Hour, want: "at-3"}},
			wantLog: []string{"refresh_token(" + testOffline + ")", "refresh_token(" + testOffline + ")", "refresh_token(" + testOffline + ")"},
			styles:  []string{"form", "form", "form"},
		},
		{
			name: "rotated refresh token, fallback to the configured one",
			idp: func(p *fakeIdP) {
				p.rotate = true
				p.offline[testOffline] = true
			},
			cfg: AuthConfig{Type: "refresh_token", ClientID: "stacfs", RefreshToken: testOffline},
			steps: []step{
				{want: "at-1"},
				{advance: time.Hour, want: "at-2"},
				{advance: time.Hour, before: (*fakeIdP).revokeRefresh, want: "at-3"},
			},
			wantLog: []string{"refresh_token(" + testOffline + ")", "refresh_token(rt-1)", "refresh_token(rt-2)!", "refresh_token(" + testOffline + ")"},
		},
		{
			name: "client credentials, basic by default",
			idp:  func(p *fakeIdP) { p.secret = testSecret; p.clientAuth = ClientAuthBasic },
			cfg:  AuthConfig{Type: "client_credentials", ClientID: "stacfs", ClientSecret: testSecret},
			steps: []step{
				{want: "at-1"},
				{advance: 2 * time.Minute, want: "at-1"},
				{advance: time.Hour, want: "at-2"},
			},
			wantLog: []string{"client_credentials", "client_credentials"},
			styles:  []string{"basic", "basic"},
		},
		{
			name:    "client credentials in the form",
			idp:     func(p *fakeIdP) { p.secret = testSecret; p.clientAuth = ClientAuthForm },
			cfg:     AuthConfig{Type: "client_credentials", ClientID: "stacfs", ClientSecret: testSecret, ClientAuth: "form"},
			steps:   []step{{want: "at-1"}, {advance: time.Hour, want: "at-2"}},
			wantLog: []string{"client_credentials", "client_credentials"},
			styles:  []string{"form", "form"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t)
			tt.idp(p)
			cfg := tt.cfg
			cfg.TokenURL = p.start()
			tok, clk := newTestTokens(t, cfg)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if s.before != nil {
					s.before(p)
				}
				if got := mustToken(t, tok); got != s.want {
					t.Fatalf("step %d: token %q, want %q (idp log %v)", i, got, s.want, p.log())
				}
			}
			if got := p.log(); strings.Join(got, " ") != strings.Join(tt.wantLog, " ") {
				t.Errorf("idp saw %v\nwant %v", got, tt.wantLog)
			}
			if tt.styles != nil {
				if got := p.styles(); strings.Join(got, " ") != strings.Join(tt.styles, " ") {
					t.Errorf("client auth %v, want %v", got, tt.styles)
				}
			}
			if want := int64(len(tt.steps)); tok.Refreshes() > want {
				t.Errorf("Refreshes() = %d, more than %d steps", tok.Refreshes(), want)
			}
		})
	}
}

// TestTokenErrors checks refusals: TokenError with the server's code, description and
// status, matching ErrDenied, and no secret in the text.
func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name       string
		idp        func(p *fakeIdP)
		cfg        AuthConfig
		status     int
		code, desc string
	}{
		{
			name:   "form sent where basic is wanted",
			idp:    func(p *fakeIdP) { p.secret = testSecret; p.clientAuth = ClientAuthBasic; p.echoSecret = true },
			cfg:    AuthConfig{Type: "client_credentials", ClientID: "stacfs", ClientSecret: testSecret, ClientAuth: "form"},
			status: 401, code: "invalid_client", desc: "Invalid client credentials",
		},
		{
			name:   "wrong secret echoed",
			idp:    func(p *fakeIdP) { p.secret = "other"; p.echoSecret = true },
			cfg:    AuthConfig{Type: "refresh_token", ClientID: "stacfs", ClientSecret: testSecret, RefreshToken: testOffline},
			status: 401, code: "invalid_client", desc: "Invalid client credentials",
		},
		{
			name:   "wrong password",
			idp:    func(p *fakeIdP) {},
			cfg:    AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: testPassword + "x"},
			status: 401, code: "invalid_grant", desc: "Invalid user credentials",
		},
		{
			name:   "offline token revoked",
			idp:    func(p *fakeIdP) {},
			cfg:    AuthConfig{Type: "refresh_token", ClientID: "stacfs", RefreshToken: testOffline},
			status: 400, code: "invalid_grant", desc: "Token is not active",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t)
			tt.idp(p)
			cfg := tt.cfg
			cfg.TokenURL = p.start()
			tok, _ := newTestTokens(t, cfg)
			_, err := tok.Token(context.Background())
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T), want a *TokenError", err, err)
			}
			if te.Status != tt.status || te.Code != tt.code || !strings.HasPrefix(te.Description, tt.desc) {
				t.Errorf("TokenError %+v, want %d %s %q", te, tt.status, tt.code, tt.desc)
			}
			if !errors.Is(err, ErrDenied) {
				t.Error("TokenError does not match ErrDenied")
			}
			want := fmt.Sprintf("token %s: %d %s: %s", cfg.TokenURL, tt.status, tt.code, tt.desc)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want prefix %q", err, want)
			}
			for _, s := range []string{testSecret, testPassword, testOffline} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %q", err)
				}
			}
		})
	}
}

// TestTokenErrorServerFailure: a 5xx without an OAuth2 error is not a denial.
func TestTokenErrorServerFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	tok, _ := newTestTokens(t, AuthConfig{Type: "client_credentials", TokenURL: srv.URL + "/token?x=1",
		ClientID: "c", ClientSecret: testSecret})
	_, err := tok.Token(context.Background())
	var te *TokenError
	if !errors.As(err, &te) || te.Status != http.StatusBadGateway {
		t.Fatalf("error %v, want a TokenError with 502", err)
	}
	if errors.Is(err, ErrDenied) {
		t.Error("a 502 matches ErrDenied")
	}
	if strings.Contains(err.Error(), "x=1") || strings.Contains(err.Error(), testSecret) {
		t.Errorf("error shows query or secret: %v", err)
	}
}

// TestTokenRedirectNotFollowed: a token endpoint that redirects does not get the
// credentials re-sent elsewhere.
func TestTokenRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	tok, _ := newTestTokens(t, AuthConfig{Type: "password", TokenURL: srv.URL, ClientID: "c", Username: "u", Password: testPassword})
	if _, err := tok.Token(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if elsewhere.Load() != 0 {
		t.Error("credentials followed the redirect")
	}
}

func TestStaticAndNone(t *testing.T) {
	b, _ := newTestTokens(t, AuthConfig{Type: "bearer", Token: "static"})
	if got := mustToken(t, b); got != "static" {
		t.Errorf("bearer token %q", got)
	}
	b.Invalidate("static")
	if got := mustToken(t, b); got != "static" {
		t.Errorf("bearer token after Invalidate %q", got)
	}
	n, _ := newTestTokens(t, AuthConfig{Type: "none"})
	if got := mustToken(t, n); got != "" {
		t.Errorf("none token %q", got)
	}
}

// TestTokenConcurrentRefresh: 20 callers on an expired token cause exactly one fetch.
func TestTokenConcurrentRefresh(t *testing.T) {
	p := newIdP(t)
	p.delay = 20 * time.Millisecond
	tok, clk := newTestTokens(t, AuthConfig{Type: "password", TokenURL: p.start(), ClientID: "stacfs",
		Username: "alice", Password: testPassword})
	mustToken(t, tok)
	clk.Advance(time.Hour)
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			s, err := tok.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	wg.Wait()
	for i, s := range got {
		if s != "at-2" {
			t.Errorf("caller %d got %q", i, s)
		}
	}
	if log := p.log(); len(log) != 2 {
		t.Errorf("idp saw %v, want password and one refresh", log)
	}
	if tok.Refreshes() != 2 {
		t.Errorf("Refreshes() = %d", tok.Refreshes())
	}
}

// TestTokenRefreshAhead: a token near its end is returned while a background refresh
// replaces it.
func TestTokenRefreshAhead(t *testing.T) {
	p := newIdP(t)
	tok, clk := newTestTokens(t, AuthConfig{Type: "password", TokenURL: p.start(), ClientID: "stacfs",
		Username: "alice", Password: testPassword})
	mustToken(t, tok)
	clk.Advance(280 * time.Second) // 20 s of 300 left
	if got := mustToken(t, tok); got != "at-1" {
		t.Fatalf("token %q, want the still valid at-1", got)
	}
	waitFor(t, func() bool { return tok.Refreshes() == 2 })
	if got := mustToken(t, tok); got != "at-2" {
		t.Fatalf("token %q, want at-2", got)
	}
}

// TestInvalidate: a stale token is ignored, the current one causes one new fetch.
func TestInvalidate(t *testing.T) {
	p := newIdP(t)
	tok, _ := newTestTokens(t, AuthConfig{Type: "password", TokenURL: p.start(), ClientID: "stacfs",
		Username: "alice", Password: testPassword})
	first := mustToken(t, tok)
	tok.Invalidate("at-0")
	tok.Invalidate("")
	if got := mustToken(t, tok); got != first || tok.Refreshes() != 1 {
		t.Fatalf("stale Invalidate: token %q, %d fetches", got, tok.Refreshes())
	}
	tok.Invalidate(first)
	second := mustToken(t, tok)
	if second == first || tok.Refreshes() != 2 {
		t.Fatalf("Invalidate: token %q after %q, %d fetches", second, first, tok.Refreshes())
	}
	for range 5 {
		tok.Invalidate(first) // many requests refused with the old token
	}
	if got := mustToken(t, tok); got != second || tok.Refreshes() != 2 {
		t.Fatalf("repeated stale Invalidate: token %q, %d fetches", got, tok.Refreshes())
	}
}

// TestTokenDetachedFromCaller: a cancelled caller stops waiting, the fetch completes and
// serves the next caller.
func TestTokenDetachedFromCaller(t *testing.T) {
	p := newIdP(t)
	p.block = make(chan struct{})
	tok, _ := newTestTokens(t, AuthConfig{Type: "password", TokenURL: p.start(), ClientID: "stacfs",
		Username: "alice", Password: testPassword})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := tok.Token(ctx)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled caller still waiting")
	}
	close(p.block)
	waitFor(t, func() bool { return tok.Refreshes() == 1 })
	if got := mustToken(t, tok); got != "at-1" {
		t.Fatalf("token %q", got)
	}
	if log := p.log(); len(log) != 1 {
		t.Errorf("idp saw %v, want one request", log)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}
