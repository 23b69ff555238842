package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// Authentication types of AuthConfig.Type.
const (
	AuthNone              = "none"
	AuthBearer            = "bearer"
	AuthRefreshToken      = "refresh_token"
	AuthPassword          = "password"
	AuthClientCredentials = "client_credentials"
	// AuthEDL is an Earthdata Login user token got with the username and password
	// (find_or_create_token, HTTP Basic).
	AuthEDL = "edl"
)

// Client authentication styles of AuthConfig.ClientAuth.
const (
	ClientAuthBasic = "basic" // HTTP Basic with client_id:client_secret
	ClientAuthForm  = "form"  // client_id and client_secret in the form body
)

// DefaultTokenTimeout bounds one token request when AuthConfig.Timeout is zero.
const DefaultTokenTimeout = 30 * time.Second

// Refresh timing: a token is refreshed when less than max(refreshMargin, lifetime/10)
// remains (but never more than half its lifetime, so short-lived tokens are still used).
// A failed fetch is not retried before failRetry has passed while no usable token exists,
// so a wrong password does not hammer the token server once per read.
var (
	refreshMargin = 30 * time.Second
	failRetry     = time.Second
	// lapseSkew is how long before refresh_expires_in elapses a refresh token counts as
	// lapsed (clock skew, request time).
	lapseSkew = 5 * time.Second
)

// AuthConfig describes how a catalog authenticates, already resolved from the
// configuration (no files or environment are read here). Secrets in it never appear in
// errors or logs.
type AuthConfig struct {
	// Type is "none" (or ""), "bearer", "refresh_token", "password" or
	// "client_credentials".
	Type string
	// TokenURL is the OAuth2 token endpoint (all grants).
	TokenURL string
	// ClientID and ClientSecret identify the OAuth2 client. ClientSecret may be empty
	// for public clients (password and refresh_token grants).
	ClientID, ClientSecret string
	// RefreshToken is the refresh_token grant's token, e.g. ESA's 90-day offline token.
	RefreshToken string
	// Username and Password are the password grant's credentials.
	Username, Password string
	// Token is the bearer type's static access token.
	Token string
	// TOTP, with the password grant, is sent as the totp field (Keycloak two-factor
	// sign-in): a one-time code, or the base32 secret codes are made from.
	TOTP string
	// Scopes are requested with the password and client_credentials grants.
	Scopes []string
	// ClientAuth is "basic" or "form"; "" means basic for client_credentials and form
	// for the other grants (Keycloak's public clients).
	ClientAuth string
	// KeepRefreshToken makes the refresh_token grant always refresh with the configured
	// RefreshToken (ESA's offline token is the source of truth) instead of the rotated
	// one the server returns.
	KeepRefreshToken bool
	// Timeout bounds one token request (default DefaultTokenTimeout).
	Timeout time.Duration
	// Logger receives token fetch events (never a secret); nil means slog.Default().
	Logger *slog.Logger
}

// validate checks that the fields the grant needs are set, naming the first missing one.
func (c AuthConfig) validate() error {
	need := func(name, v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("auth type %q: %s is required", c.Type, name)
		}
		return nil
	}
	var required [][2]string
	switch c.Type {
	case "", AuthNone:
		return nil
	case AuthBearer:
		return need("Token", c.Token)
	case AuthRefreshToken:
		required = [][2]string{{"TokenURL", c.TokenURL}, {"ClientID", c.ClientID}, {"RefreshToken", c.RefreshToken}}
	case AuthPassword:
		required = [][2]string{{"TokenURL", c.TokenURL}, {"ClientID", c.ClientID}, {"Username", c.Username}, {"Password", c.Password}}
	case AuthClientCredentials:
		required = [][2]string{{"TokenURL", c.TokenURL}, {"ClientID", c.ClientID}, {"ClientSecret", c.ClientSecret}}
	case AuthEDL:
		required = [][2]string{{"TokenURL", c.TokenURL}, {"Username", c.Username}, {"Password", c.Password}}
	default:
		return fmt.Errorf("unknown auth type %q (want none, bearer, refresh_token, password, client_credentials or edl)", c.Type)
	}
	for _, r := range required {
		if err := need(r[0], r[1]); err != nil {
			return err
		}
	}
	u, err := url.Parse(c.TokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("auth type %q: TokenURL %q is not an absolute http(s) URL", c.Type, RedactURL(c.TokenURL))
	}
	switch c.ClientAuth {
	case "", ClientAuthBasic, ClientAuthForm:
	default:
		return fmt.Errorf("auth type %q: ClientAuth %q is neither basic nor form", c.Type, c.ClientAuth)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("auth type %q: Timeout %v is negative", c.Type, c.Timeout)
	}
	return nil
}

// TokenError is the token server's refusal: its own error and error_description and the
// HTTP status. It never holds a secret.
type TokenError struct {
	Status      int    // HTTP status of the token response
	Code        string // OAuth2 "error", e.g. invalid_grant, invalid_client
	Description string // OAuth2 "error_description" (secrets scrubbed, bounded)
	URL         string // token endpoint, redacted
}

// Error returns e.g. "token https://sso.example/realms/x/protocol/openid-connect/token:
// 401 invalid_client: Invalid client credentials".
func (e *TokenError) Error() string {
	s := "token " + e.URL + ": " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	} else if t := http.StatusText(e.Status); t != "" {
		s += " " + strings.ToLower(t)
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is reports whether target is ErrDenied: the server refused the credentials (an OAuth2
// error code, or status 400, 401 or 403). A token server that fails otherwise (5xx
// without an error code) is not a denial.
func (e *TokenError) Is(target error) bool {
	return target == ErrDenied && e.refused()
}

// refused reports a refusal of the credentials rather than a server failure.
func (e *TokenError) refused() bool {
	return e.Code != "" || e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized ||
		e.Status == http.StatusForbidden
}

// maxDescription bounds TokenError.Description.
const maxDescription = 200

// Tokens hands out access tokens: fetched once, shared, refreshed before expiry (at most
// one fetch in flight; refreshed when less than 30 s or 10% of the lifetime remain),
// invalidated after a 401.
//
// Grants: password keeps the newest rotated refresh token and logs in again with the
// username and password when a refresh is refused (invalid_grant, any 400 or 401) or the
// refresh token lapsed (refresh_expires_in elapsed; 0 means no expiry). refresh_token
// uses the newest rotated token unless KeepRefreshToken, and falls back once to the
// configured token when a rotated one is refused. client_credentials requests a new token
// each time. bearer hands out its static token; none hands out "" (no Authorization).
//
// Fetches run on a context detached from the callers' (a background context bounded by
// AuthConfig.Timeout): a cancelled caller stops waiting, the fetch goes on for the others.
type Tokens struct {
	cfg  AuthConfig
	url  string // redacted token URL
	log  *slog.Logger
	hc   *http.Client   // token requests: no redirects followed
	conf *oauth2.Config // password and refresh_token grants
	cc   *clientcredentials.Config
	now  func() time.Time // the clock (tests move it)

	refreshes atomic.Int64
	failures  atomic.Int64

	fetches singleflight.Group // the fetch in flight (one key; started under mu)

	mu      sync.Mutex
	cur     *accessToken // nil: none yet, or invalidated
	failErr error        // the last fetch's error while no token is usable
	failAt  time.Time

	// Owned by the fetch in flight (at most one at a time; handed over under mu).
	rotated         string    // newest refresh token from the server
	rotatedDeadline time.Time // when rotated lapses; zero: no expiry
}

// accessToken is a fetched access token and the times that decide its refresh.
type accessToken struct {
	value     string
	refreshAt time.Time // zero: never (no expiry known)
	expiry    time.Time // zero: unknown
}

// NewTokens validates cfg (a missing field gives an error naming it) and returns the
// token cache for it. hc makes the token requests (nil: the package default client); its
// redirects are never followed, so credentials go to TokenURL only.
func NewTokens(cfg AuthConfig, hc *http.Client) (*Tokens, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTokenTimeout
	}
	if hc == nil {
		hc = defaultHTTP()
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	noRedirect.Jar = nil
	t := &Tokens{
		cfg: cfg,
		url: RedactURL(cfg.TokenURL),
		log: cfg.Logger,
		hc:  &noRedirect,
		now: time.Now,
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	style := oauth2.AuthStyleInParams
	if cfg.ClientAuth == ClientAuthBasic || (cfg.ClientAuth == "" && cfg.Type == AuthClientCredentials) {
		style = oauth2.AuthStyleInHeader
	}
	switch cfg.Type {
	case AuthPassword, AuthRefreshToken:
		t.conf = &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: style},
			Scopes:       cfg.Scopes,
		}
	case AuthClientCredentials:
		t.cc = &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       cfg.Scopes,
			AuthStyle:    style,
		}
	}
	return t, nil
}

// Type returns the authentication type ("none" for an empty one).
func (t *Tokens) Type() string {
	if t.cfg.Type == "" {
		return AuthNone
	}
	return t.cfg.Type
}

// URL returns the token endpoint, redacted ("" for types without one).
func (t *Tokens) URL() string { return t.url }

// Refreshes returns how many token fetches succeeded so far.
func (t *Tokens) Refreshes() int64 { return t.refreshes.Load() }

// Failures returns the failed token fetches so far (metrics).
func (t *Tokens) Failures() int64 { return t.failures.Load() }

// Token returns a valid access token, fetching one when there is none, it expired or is
// about to. ctx bounds only the caller's wait: the fetch itself runs detached with its
// own timeout and serves every caller waiting for it. A token that is still valid but due
// for refresh is returned at once while the refresh runs in the background. Type none
// returns "".
func (t *Tokens) Token(ctx context.Context) (string, error) {
	switch t.cfg.Type {
	case "", AuthNone:
		return "", nil
	case AuthBearer:
		return t.cfg.Token, nil
	}
	now := t.now()
	t.mu.Lock()
	if cur := t.cur; cur != nil && (cur.expiry.IsZero() || now.Before(cur.expiry)) {
		if !cur.refreshAt.IsZero() && !now.Before(cur.refreshAt) && (t.failErr == nil || now.Sub(t.failAt) >= failRetry) {
			// Due for refresh but still valid: refresh in the background (or join the
			// refresh in flight).
			t.startLocked()
		}
		t.mu.Unlock()
		return cur.value, nil
	}
	if t.failErr != nil && now.Sub(t.failAt) < failRetry {
		err := t.failErr
		t.mu.Unlock()
		return "", err
	}
	ch := t.startLocked()
	t.mu.Unlock()
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Invalidate records that token was refused: the next Token call fetches a new one. A
// token that was already replaced (or never handed out) is ignored, so many requests
// refused with the same old token cause one fetch.
func (t *Tokens) Invalidate(token string) {
	if token == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil && t.cur.value == token {
		t.cur = nil
		t.log.Debug("access token refused, fetching a new one", "token_url", t.url)
	}
}

// fetchKey is the key of the token fetch in t.fetches.
const fetchKey = "token"

// startLocked starts a fetch, or joins the one in flight; t.mu is held.
func (t *Tokens) startLocked() <-chan singleflight.Result {
	return t.fetches.DoChan(fetchKey, t.run)
}

// run performs one fetch on a detached context and publishes its result. The fetch is
// forgotten under t.mu as the result is published, so a caller that finds the new token
// already invalidated starts a new fetch rather than joining this one.
func (t *Tokens) run() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, t.hc)
	start := t.now()
	tok, err := t.fetch(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fetches.Forget(fetchKey)
	if err != nil {
		t.failErr, t.failAt = err, t.now()
		t.failures.Add(1)
		t.log.Warn("token request failed", "type", t.cfg.Type, "error", err)
		return nil, err
	}
	t.failErr = nil
	t.refreshes.Add(1)
	at := &accessToken{value: tok.AccessToken}
	if !tok.Expiry.IsZero() {
		// oauth2 computed Expiry from expires_in on the real clock; move it onto ours.
		life := tok.Expiry.Sub(time.Now())
		at.expiry = start.Add(life)
		margin := max(refreshMargin, life/10)
		if margin > life/2 {
			margin = life / 2
		}
		at.refreshAt = at.expiry.Add(-margin)
	}
	t.cur = at
	t.log.Debug("access token fetched", "type", t.cfg.Type, "token_url", t.url, "expires", at.expiry)
	return at.value, nil
}

// fetch runs the configured grant.
func (t *Tokens) fetch(ctx context.Context) (*oauth2.Token, error) {
	var tok *oauth2.Token
	var err error
	switch t.cfg.Type {
	case AuthClientCredentials:
		tok, err = t.cc.Token(ctx)
		err = t.wrap(err)
	case AuthPassword:
		tok, err = t.fetchPassword(ctx)
	case AuthRefreshToken:
		tok, err = t.fetchRefresh(ctx)
	case AuthEDL:
		tok, err = t.fetchEDL(ctx)
	default:
		err = fmt.Errorf("auth type %q has no token endpoint", t.cfg.Type)
	}
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("token %s: response without access_token: %w", t.url, ErrBadResponse)
	}
	return tok, nil
}

// fetchPassword refreshes with the newest refresh token while it has not lapsed, and logs
// in with the username and password when there is none or the refresh is refused.
func (t *Tokens) fetchPassword(ctx context.Context) (*oauth2.Token, error) {
	if t.rotated != "" && !t.rotatedLapsed() {
		if tok, fallBack, err := t.refreshRotated(ctx, "refresh token refused, logging in again"); !fallBack {
			return tok, err
		}
	} else if t.rotated != "" {
		t.log.Debug("refresh token lapsed, logging in again", "token_url", t.url)
	}
	t.rotated, t.rotatedDeadline = "", time.Time{}
	tok, err := t.passwordGrant(ctx)
	if err != nil {
		return nil, err
	}
	t.keepRotated(tok)
	return tok, nil
}

// fetchRefresh refreshes with the newest rotated refresh token (unless KeepRefreshToken)
// and falls back once to the configured one when the rotated token is refused or lapsed.
func (t *Tokens) fetchRefresh(ctx context.Context) (*oauth2.Token, error) {
	if !t.cfg.KeepRefreshToken && t.rotated != "" && t.rotated != t.cfg.RefreshToken {
		if !t.rotatedLapsed() {
			if tok, fallBack, err := t.refreshRotated(ctx, "rotated refresh token refused, using the configured one"); !fallBack {
				return tok, err
			}
		}
		t.rotated, t.rotatedDeadline = "", time.Time{}
	}
	tok, err := t.refresh(ctx, t.cfg.RefreshToken)
	if err != nil {
		return nil, err
	}
	if !t.cfg.KeepRefreshToken {
		t.keepRotated(tok)
	}
	return tok, nil
}

// rotatedLapsed reports whether the rotated refresh token has lapsed (or is about to).
func (t *Tokens) rotatedLapsed() bool {
	return !t.rotatedDeadline.IsZero() && !t.now().Before(t.rotatedDeadline.Add(-lapseSkew))
}

// refreshRotated is the attempt with the newest rotated refresh token. It returns the new
// token, or the error of a refresh that failed for another reason than a refusal; when the
// server refused the token it logs refused and reports fallBack: the caller falls back to
// its other credential.
func (t *Tokens) refreshRotated(ctx context.Context, refused string) (tok *oauth2.Token, fallBack bool, err error) {
	tok, err = t.refresh(ctx, t.rotated)
	if err == nil {
		t.keepRotated(tok)
		return tok, false, nil
	}
	if !refusedRefresh(err) {
		return nil, false, err
	}
	t.log.Info(refused, "token_url", t.url, "error", err)
	return nil, true, nil
}

// refresh runs the refresh_token grant with rt. A TokenSource is built per call from the
// fetch's own context (golang/oauth2#388: a source keeps its context for later refreshes).
func (t *Tokens) refresh(ctx context.Context, rt string) (*oauth2.Token, error) {
	expired := &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}
	tok, err := t.conf.TokenSource(ctx, expired).Token()
	if err != nil {
		return nil, t.wrap(err)
	}
	return tok, nil
}

// keepRotated records the refresh token of a token response and when it lapses
// (refresh_expires_in; 0 or absent means no expiry).
func (t *Tokens) keepRotated(tok *oauth2.Token) {
	if tok.RefreshToken == "" {
		return
	}
	if tok.RefreshToken != t.rotated {
		t.rotatedDeadline = time.Time{}
	}
	t.rotated = tok.RefreshToken
	if secs, ok := extraInt(tok, "refresh_expires_in"); ok {
		if secs > 0 {
			t.rotatedDeadline = t.now().Add(time.Duration(secs) * time.Second)
		} else {
			t.rotatedDeadline = time.Time{}
		}
	}
}

// extraInt reads an integer field of the token response (JSON number or form string).
func extraInt(tok *oauth2.Token, key string) (int64, bool) {
	switch v := tok.Extra(key).(type) {
	case float64:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// refusedRefresh reports whether a refresh failed because the server refused the refresh
// token (invalid_grant, any 400 or 401), as opposed to a network or server failure.
func refusedRefresh(err error) bool {
	var te *TokenError
	if !errors.As(err, &te) {
		return false
	}
	return te.Code == "invalid_grant" || te.Status == http.StatusBadRequest || te.Status == http.StatusUnauthorized
}

// wrap turns an error of x/oauth2 into a *TokenError (server refusals) or an error naming
// the redacted token URL, with every secret of the configuration scrubbed.
func (t *Tokens) wrap(err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{
			Code:        t.scrub(re.ErrorCode),
			Description: t.scrub(re.ErrorDescription),
			URL:         t.url,
		}
		if re.Response != nil {
			te.Status = re.Response.StatusCode
		}
		if len(te.Description) > maxDescription {
			te.Description = te.Description[:maxDescription] + "..."
		}
		return te
	}
	for _, ce := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, ce) {
			return fmt.Errorf("token %s: request timed out or was cancelled: %w", t.url, ce)
		}
	}
	return &scrubbedError{msg: "token " + t.url + ": " + t.scrub(redactErr(err).Error()), err: err}
}

// scrub replaces every secret of the configuration found in s.
func (t *Tokens) scrub(s string) string {
	for _, secret := range []string{t.cfg.ClientSecret, t.cfg.Password, t.cfg.RefreshToken, t.cfg.Token, t.cfg.TOTP, t.rotated} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// scrubbedError shows a scrubbed message but keeps the original error for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
