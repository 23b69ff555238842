package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// edlAnswer is Earthdata Login's answer to find_or_create_token, or its refusal.
type edlAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpirationDate   string `json:"expiration_date"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// edlDateLayouts are the forms of expiration_date: EDL's "MM/DD/YYYY" (a token lives 60
// days), and full timestamps for servers that give one.
var edlDateLayouts = []string{"01/02/2006", "1/2/2006", time.RFC3339Nano, "2006-01-02"}

// fetchEDL gets an Earthdata Login user token: POST TokenURL (.../api/users/find_or_create_token)
// with HTTP Basic username:password, answered {"access_token", "token_type": "Bearer",
// "expiration_date": "MM/DD/YYYY"}. EDL hands back the user's live token when there is
// one (at most two exist per user), so asking again after a refusal does not pile up
// tokens. A date-only expiration counts from the start of that day (UTC).
func (t *Tokens) fetchEDL(ctx context.Context) (*oauth2.Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.TokenURL, nil)
	if err != nil {
		return nil, t.wrap(err)
	}
	req.SetBasicAuth(t.cfg.Username, t.cfg.Password)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stacfs")
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, t.wrap(err)
	}
	defer drainClose(resp.Body)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, t.wrap(err)
	}
	var a edlAnswer
	jerr := json.Unmarshal(body, &a)
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode, Code: t.scrub(a.Error), Description: t.scrub(a.ErrorDescription), URL: t.url}
		if te.Description == "" && jerr != nil {
			te.Description = t.scrub(oneLineBody(string(body)))
		}
		if len(te.Description) > maxDescription {
			te.Description = te.Description[:maxDescription] + "..."
		}
		return nil, te
	}
	if jerr != nil {
		return nil, fmt.Errorf("token %s: %w: %v", t.url, ErrBadResponse, jerr)
	}
	tok := &oauth2.Token{AccessToken: a.AccessToken, TokenType: "Bearer"}
	if a.ExpirationDate != "" {
		for _, l := range edlDateLayouts {
			if e, err := time.Parse(l, strings.TrimSpace(a.ExpirationDate)); err == nil {
				tok.Expiry = e
				break
			}
		}
		if tok.Expiry.IsZero() {
			return nil, fmt.Errorf("token %s: expiration_date %q: %w", t.url, a.ExpirationDate, ErrBadResponse)
		}
	}
	return tok, nil
}
