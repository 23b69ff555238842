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
	status, body, err := t.post(req)
	if err != nil {
		return nil, err
	}
	var a edlAnswer
	jerr := json.Unmarshal(body, &a)
	if status != http.StatusOK {
		desc := a.ErrorDescription
		if desc == "" && jerr != nil {
			desc = oneLineBody(string(body))
		}
		return nil, t.refusal(status, a.Error, desc)
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

// post sends a token request stacfs builds itself (EDL, the password grant with a TOTP)
// and returns the status and the body (at most 1 MiB).
func (t *Tokens) post(req *http.Request) (int, []byte, error) {
	resp, err := t.hc.Do(req)
	if err != nil {
		return 0, nil, t.wrap(err)
	}
	defer drainClose(resp.Body)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, t.wrap(err)
	}
	return resp.StatusCode, body, nil
}

// refusal is the *TokenError of a refused token request, its texts scrubbed and bounded.
func (t *Tokens) refusal(status int, code, desc string) *TokenError {
	te := &TokenError{Status: status, Code: t.scrub(code), Description: t.scrub(desc), URL: t.url}
	if len(te.Description) > maxDescription {
		te.Description = te.Description[:maxDescription] + "..."
	}
	return te
}
