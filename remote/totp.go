package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

// passwordGrant signs in with the username and password. With AuthConfig.TOTP set the
// request also carries a totp form field, as Keycloak realms with two-factor sign-in want
// (CDSE): x/oauth2 cannot add a field to the password grant, so that request is built
// here, with the client authenticated as AuthConfig.ClientAuth says.
func (t *Tokens) passwordGrant(ctx context.Context) (*oauth2.Token, error) {
	if t.cfg.TOTP == "" {
		tok, err := t.conf.PasswordCredentialsToken(ctx, t.cfg.Username, t.cfg.Password)
		return tok, t.wrap(err)
	}
	code, err := totpCode(t.cfg.TOTP, t.now())
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", t.url, err)
	}
	form := url.Values{"grant_type": {"password"}, "username": {t.cfg.Username}, "password": {t.cfg.Password}, "totp": {code}}
	if len(t.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(t.cfg.Scopes, " "))
	}
	basic := t.conf.Endpoint.AuthStyle == oauth2.AuthStyleInHeader
	if !basic {
		form.Set("client_id", t.cfg.ClientID)
		if t.cfg.ClientSecret != "" {
			form.Set("client_secret", t.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, t.wrap(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(t.cfg.ClientID), url.QueryEscape(t.cfg.ClientSecret))
	}
	start := time.Now()
	status, body, err := t.post(req)
	if err != nil {
		return nil, err
	}
	var a struct {
		AccessToken      string          `json:"access_token"`
		TokenType        string          `json:"token_type"`
		RefreshToken     string          `json:"refresh_token"`
		ExpiresIn        json.Number     `json:"expires_in"`
		RefreshExpiresIn json.Number     `json:"refresh_expires_in"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Scope            json.RawMessage `json:"scope"`
	}
	jerr := json.Unmarshal(body, &a)
	if status < 200 || status > 299 || a.Error != "" {
		return nil, t.refusal(status, a.Error, a.ErrorDescription)
	}
	if jerr != nil {
		return nil, fmt.Errorf("token %s: %w: %v", t.url, ErrBadResponse, jerr)
	}
	tok := &oauth2.Token{AccessToken: a.AccessToken, TokenType: a.TokenType, RefreshToken: a.RefreshToken}
	if secs, err := a.ExpiresIn.Int64(); err == nil && secs > 0 {
		tok.Expiry = start.Add(time.Duration(secs) * time.Second)
	}
	extra := map[string]any{}
	if secs, err := a.RefreshExpiresIn.Int64(); err == nil {
		extra["refresh_expires_in"] = float64(secs)
	}
	return tok.WithExtra(extra), nil
}

// totpCode returns the one-time code to send: v itself when it is a code (6 to 8
// digits, good for one sign-in), else the current code of v read as the base32 secret an
// authenticator app is set up with, so a long-running mount can sign in again.
func totpCode(v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	if n := len(v); n >= 6 && n <= 8 && strings.Trim(v, "0123456789") == "" {
		return v, nil
	}
	code, err := totp.GenerateCode(strings.ToUpper(strings.ReplaceAll(v, " ", "")), now)
	if err != nil {
		return "", fmt.Errorf("totp: neither a one-time code nor a base32 secret: %w", err)
	}
	return code, nil
}
