package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Presigned-URL reuse: a URL is used until redirectMargin (at most a tenth of its
// lifetime) before it expires; a URL whose lifetime nothing tells is used
// redirectDefaultLife; an href the host serves itself is asked again after that too.
var (
	// maxRedirectEntries is the number of cached redirects above which the expired ones
	// are dropped.
	maxRedirectEntries  = 4096
	redirectMargin      = 30 * time.Second
	redirectDefaultLife = 5 * time.Minute
)

// Redirects is the Signer of download hosts that answer a read with a redirect to a
// presigned URL, as NASA Earthdata's Thin Egress App does (303 to S3 or CloudFront, valid
// about an hour, Cache-Control: max-age): it asks the host once per href, with the
// catalog's bearer token (Client.Auth, only where its Scope allows), and reuses the
// presigned URL for every later range until shortly before it expires (max-age, else
// X-Amz-Expires, else Expires), so a COG window costs one redirect, not one per range.
// The presigned URL is read without the token (S3 refuses two auth mechanisms).
//
// A redirect to a sign-in page (Earthdata Login's /oauth/authorize) means the token is
// missing or stale: the token is renewed once, then the read fails with ErrAuthRedirect
// (ErrDenied) and an ERROR log. A 403 whose JSON names a resolution_url (a EULA not
// accepted) fails with *EULAError and an ERROR log naming the URL the user must visit.
// Hrefs outside the scope are read as they are.
type Redirects struct {
	// Client sends the requests to the download host (its Auth, retry budget, per-origin
	// limit).
	Client *Client
	// Logger gets the ERROR lines a user must act on; nil means the Client's, else
	// slog.Default().
	Logger *slog.Logger

	now      func() time.Time // the clock (tests move it)
	resolves atomic.Int64
	flights  singleflight.Group

	mu      sync.Mutex
	entries map[string]redirect // GUARDED_BY(mu); by href
	warned  map[string]bool     // GUARDED_BY(mu); resolution URLs already logged
}

// redirect is where an href leads, and until when that holds.
type redirect struct {
	target   string
	useUntil time.Time
}

// EULAError is a download host's 403 asking the user to accept a data use agreement once,
// at ResolutionURL. It matches ErrDenied.
type EULAError struct {
	URL           string // the href, redacted
	ResolutionURL string // where the user accepts the agreement
	Description   string // the server's error_description, if any
}

func (e *EULAError) Error() string {
	s := "GET " + e.URL + ": 403 forbidden: accept the data use agreement (EULA) first, at " + e.ResolutionURL
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	return s
}

// Is reports whether target is ErrDenied.
func (e *EULAError) Is(target error) bool { return target == ErrDenied }

// Resolves returns how many times the download host was asked for a redirect.
func (d *Redirects) Resolves() int64 { return d.resolves.Load() }

func (d *Redirects) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

func (d *Redirects) log() *slog.Logger {
	switch {
	case d.Logger != nil:
		return d.Logger
	case d.Client != nil && d.Client.Logger != nil:
		return d.Client.Logger
	}
	return slog.Default()
}

// Sign returns the URL to read href from: the presigned URL its download host redirects
// to (cached while it lives), href itself when the host serves it directly or href is
// outside the token's scope.
func (d *Redirects) Sign(ctx context.Context, href string) (string, error) {
	a := d.Client.auth()
	u, err := url.Parse(href)
	if a == nil || err != nil || !a.Scope.Allows(u) {
		return href, nil
	}
	peek := func() (string, bool) {
		d.mu.Lock()
		e, ok := d.entries[href]
		d.mu.Unlock()
		return e.target, ok && d.clock().Before(e.useUntil)
	}
	return shared(ctx, &d.flights, href, peek, func(ctx context.Context) (string, error) {
		rctx, cancel := context.WithTimeout(ctx, d.Client.retryBudget()+5*time.Second)
		defer cancel()
		return d.resolve(rctx, href)
	})
}

// Refused forgets signed when it is still href's presigned URL (it expired early).
func (d *Redirects) Refused(href, signed string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[href]; ok && e.target == signed {
		delete(d.entries, href)
	}
}

// resolve asks the download host where href leads, within the Client's retry budget.
func (d *Redirects) resolve(ctx context.Context, href string) (string, error) {
	r := d.Client.newRetrier(ctx, http.MethodGet, href)
	renewed := false
	target, err := retryLoop(r, func() (redirect, error) { return d.resolveOnce(r.ctx, href, &renewed) })
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	if d.entries == nil {
		d.entries = map[string]redirect{}
	}
	if len(d.entries) >= maxRedirectEntries {
		now := d.clock()
		for h, e := range d.entries {
			if !now.Before(e.useUntil) {
				delete(d.entries, h)
			}
		}
	}
	d.entries[href] = target
	d.mu.Unlock()
	return target.target, nil
}

// resolveOnce sends one GET of href's first byte with the token and does not follow the
// answer's redirect. A token refused (401, or a redirect to a sign-in page) is renewed and
// the request sent again, once per resolve (*renewed).
func (d *Redirects) resolveOnce(ctx context.Context, href string, renewed *bool) (redirect, error) {
	a := d.Client.auth()
	tok, err := a.Tokens.Token(ctx)
	if err != nil {
		return redirect{}, fmt.Errorf("GET %s: %w", RedactURL(href), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return redirect{}, fmt.Errorf("GET %s: %w", RedactURL(href), redactErr(err))
	}
	req.Header.Set("User-Agent", d.Client.userAgent())
	req.Header.Set("Range", "bytes=0-0")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := *d.Client.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	release, err := d.Client.acquire(ctx, req.URL)
	if err != nil {
		return redirect{}, fmt.Errorf("GET %s: wait for a connection slot: %w", RedactURL(href), err)
	}
	hctx, cancel := context.WithTimeout(ctx, maxHeaderWait)
	defer cancel()
	d.resolves.Add(1)
	began := d.clock()
	resp, err := hc.Do(req.WithContext(hctx))
	if err != nil {
		release()
		return redirect{}, &transportError{redactErr(err)}
	}
	defer release()
	if c := d.Client; c.Logger != nil && c.Logger.Enabled(ctx, slog.LevelDebug) {
		c.Logger.LogAttrs(ctx, slog.LevelDebug, "http", slog.String("method", "GET"), slog.String("url", RedactURL(href)),
			slog.String("range", "bytes=0-0"), slog.Int("status", resp.StatusCode),
			slog.Duration("took", d.clock().Sub(began)), slog.Bool("token", tok != ""))
	}
	refusedToken := func() bool {
		if *renewed || tok == "" {
			return false
		}
		*renewed = true
		a.Tokens.Invalidate(tok)
		return true
	}
	switch {
	case isRedirect(resp.StatusCode) && resp.Header.Get("Location") != "":
		drainClose(resp.Body)
		next, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return redirect{}, fmt.Errorf("GET %s: redirect to an invalid location: %w", RedactURL(href), ErrBadResponse)
		}
		// A sign-in page, even inside the scope (urs.earthdata.nasa.gov is under the
		// preset's *.earthdata.nasa.gov): never a place to read bytes from.
		if signIn(next) {
			if refusedToken() {
				return d.resolveOnce(ctx, href, renewed)
			}
			err := fmt.Errorf("GET %s: %w at %s: the token is missing, expired or revoked", RedactURL(href), ErrAuthRedirect, RedactURL(next.String()))
			d.log().Error("the download host sent the read to its sign-in page: check the credentials", "url", RedactURL(href),
				"sign_in", RedactURL(next.String()))
			return redirect{}, err
		}
		return redirect{target: next.String(), useUntil: d.useUntil(began, resp, next)}, nil
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		_ = resp.Body.Close() // a 200 would send the whole object: do not read it
		return redirect{target: href, useUntil: began.Add(redirectDefaultLife)}, nil
	case resp.StatusCode == http.StatusUnauthorized && refusedToken():
		drainClose(resp.Body)
		return d.resolveOnce(ctx, href, renewed)
	case resp.StatusCode == http.StatusForbidden:
		se := statusError(resp)
		if eula := eulaOf(href, se.Body); eula != nil {
			d.mu.Lock()
			first := !d.warned[eula.ResolutionURL]
			if d.warned == nil {
				d.warned = map[string]bool{}
			}
			d.warned[eula.ResolutionURL] = true
			d.mu.Unlock()
			if first {
				d.log().Error("accept the data use agreement (EULA) once in a browser, then read again",
					"visit", eula.ResolutionURL, "url", eula.URL)
			}
			return redirect{}, eula
		}
		return redirect{}, se
	}
	return redirect{}, statusError(resp)
}

// eulaOf reads a 403 body naming a resolution_url, else nil.
func eulaOf(href, body string) *EULAError {
	var b struct {
		ResolutionURL    string `json:"resolution_url"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal([]byte(body), &b) != nil || b.ResolutionURL == "" {
		return nil
	}
	if u, err := url.Parse(b.ResolutionURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil
	}
	desc := oneLineBody(b.ErrorDescription)
	return &EULAError{URL: RedactURL(href), ResolutionURL: b.ResolutionURL, Description: desc}
}

// useUntil is when a presigned URL obtained at began stops being reused: its lifetime
// from the redirect's Cache-Control max-age, else the URL's X-Amz-Date + X-Amz-Expires,
// else its Expires (Unix seconds), else redirectDefaultLife; less a margin of at most a
// tenth of it.
func (d *Redirects) useUntil(began time.Time, resp *http.Response, next *url.URL) time.Time {
	expiry := began.Add(redirectDefaultLife)
	q := next.Query()
	if age, ok := maxAge(resp.Header.Get("Cache-Control")); ok {
		expiry = began.Add(age)
	} else if secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64); err == nil {
		start, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		if err != nil {
			start = began
		}
		expiry = start.Add(time.Duration(secs) * time.Second)
	} else if at, err := strconv.ParseInt(q.Get("Expires"), 10, 64); err == nil {
		expiry = time.Unix(at, 0)
	}
	life := expiry.Sub(began)
	return expiry.Add(-min(redirectMargin, life/10))
}

// maxAge reads max-age from a Cache-Control header (private, no-cache and the like do
// not matter here: the URL, not the body, is reused).
func maxAge(cc string) (time.Duration, bool) {
	for _, part := range strings.Split(cc, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(k, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
		if err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	return 0, false
}
