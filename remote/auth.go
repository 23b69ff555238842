package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Auth attaches a catalog's access tokens to the requests its scope allows. Both fields
// are needed: with a nil Tokens or Scope no request carries a token.
type Auth struct {
	Tokens *Tokens
	Scope  *Scope
}

// maxRedirects is how many redirects one request follows.
const maxRedirects = 10

// ErrAuthRedirect is a redirect to another origin's sign-in page, the way some servers
// (Terrascope downloads) answer a missing or expired token instead of 401. The redirect is
// never followed. It matches ErrDenied under errors.Is.
var ErrAuthRedirect error = &deniedError{"redirected to a sign-in page"}

// deniedError is a sentinel that also matches ErrDenied.
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }

// Is reports whether target is ErrDenied.
func (e *deniedError) Is(target error) bool { return target == ErrDenied }

// send performs req for the Client: it follows redirects itself, deciding per hop whether
// the token goes along (Scope.Allows, never after an https hop on http), refuses redirects
// to a sign-in page (ErrAuthRedirect), and when a request that carried the token is
// answered 401 or sent to a sign-in page, invalidates that token, fetches a new one and
// replays req once (when its body can be re-read: GetBody). Other answers, including
// 401/403 to requests that carried no token, are returned for the caller to turn into a
// *StatusError. With Auth set, Authorization is managed here alone: a header the caller
// set is replaced or removed. Without it, a caller's Authorization goes on the first hop
// only.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, sent, err := c.chain(&hc, req)
	a := c.auth()
	if a == nil || sent == "" {
		return resp, err
	}
	refused := (err == nil && resp.StatusCode == http.StatusUnauthorized) || errors.Is(err, ErrAuthRedirect)
	if !refused {
		return resp, err
	}
	a.Tokens.Invalidate(sent)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, err // cannot replay
	}
	ctx := req.Context()
	tok, terr := a.Tokens.Token(ctx)
	if terr != nil {
		if resp != nil {
			drainClose(resp.Body)
		}
		return nil, fmt.Errorf("%s %s: renew refused token: %w", req.Method, RedactURL(req.URL.String()), terr)
	}
	if tok == sent || tok == "" {
		return resp, err // nothing new to try (static token)
	}
	if resp != nil {
		drainClose(resp.Body)
	}
	again := req.Clone(ctx)
	if req.GetBody != nil {
		body, berr := req.GetBody()
		if berr != nil {
			return nil, fmt.Errorf("%s %s: replay body: %w", req.Method, RedactURL(req.URL.String()), berr)
		}
		again.Body = body
	}
	resp, _, err = c.chain(&hc, again)
	return resp, err
}

// auth returns c.Auth when it can hand out tokens, else nil.
func (c *Client) auth() *Auth {
	if c == nil || c.Auth == nil || c.Auth.Tokens == nil || c.Auth.Scope == nil {
		return nil
	}
	return c.Auth
}

// chain performs req and follows its redirects (at most maxRedirects), each hop holding a
// slot of its origin (Client.MaxPerOrigin) until its body ends or is closed. It returns the
// final response and the token the final hop carried ("" for none). A redirect that
// leaves the scope for a sign-in page ends the chain with ErrAuthRedirect (and the token
// carried by the hop that redirected).
func (c *Client) chain(hc *http.Client, req *http.Request) (*http.Response, string, error) {
	a := c.auth()
	ctx := req.Context()
	cur := req
	sawHTTPS := false
	for hop := 0; ; hop++ {
		tok := ""
		if hop > 0 || a != nil {
			cur.Header.Del("Authorization")
		}
		scheme := strings.ToLower(cur.URL.Scheme)
		if a != nil && !(sawHTTPS && scheme == "http") && a.Scope.Allows(cur.URL) {
			t, err := a.Tokens.Token(ctx)
			if err != nil {
				return nil, "", fmt.Errorf("%s %s: %w", cur.Method, RedactURL(cur.URL.String()), err)
			}
			if t != "" {
				tok = t
				cur.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		if scheme == "https" {
			sawHTTPS = true
		}
		if err := c.breakers().allow(cur.URL, time.Now()); err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", cur.Method, RedactURL(cur.URL.String()), err)
		}
		release, err := c.acquire(ctx, cur.URL)
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: wait for a connection slot: %w", cur.Method, RedactURL(cur.URL.String()), err)
		}
		began := time.Now()
		resp, err := hc.Do(cur)
		if err == nil {
			c.breakers().answered(cur.URL, time.Now(), c.logger())
		} else if cause := unreachableCause(cur.Context(), err); cause != nil {
			c.breakers().unreachable(cur.URL, cause, began, time.Now())
		}
		if c != nil && c.Observer != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
				resp.Body = &countingBody{ReadCloser: resp.Body, origin: originLabel(cur.URL), obs: c.Observer}
			}
			c.Observer.Exchange(cur.Method, originLabel(cur.URL), status, time.Since(began))
		}
		if err != nil {
			release()
		} else {
			resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
		}
		if c != nil && c.Logger != nil && c.Logger.Enabled(ctx, slog.LevelDebug) {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			c.Logger.LogAttrs(ctx, slog.LevelDebug, "http", slog.String("method", cur.Method),
				slog.String("url", RedactURL(cur.URL.String())), slog.String("range", cur.Header.Get("Range")),
				slog.Int("status", status), slog.Duration("took", time.Since(began)), slog.Bool("token", tok != ""))
		}
		if err != nil {
			return nil, "", &transportError{redactErr(err)}
		}
		if !isRedirect(resp.StatusCode) {
			return resp, tok, nil
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return resp, tok, nil
		}
		next, err := cur.URL.Parse(loc)
		if err != nil {
			drainClose(resp.Body)
			return nil, tok, fmt.Errorf("%s %s: redirect to an invalid location: %w", cur.Method, RedactURL(cur.URL.String()), ErrBadResponse)
		}
		// A sign-in page of another origin ends the chain even inside the scope
		// (urs.earthdata.nasa.gov is under the Earthdata preset's *.earthdata.nasa.gov).
		if signIn(next) && (c.leavesScope(req.URL, next) || otherOrigin(cur.URL, next)) {
			drainClose(resp.Body)
			return nil, tok, fmt.Errorf("%s %s: %w at %s", cur.Method, RedactURL(cur.URL.String()), ErrAuthRedirect, RedactURL(next.String()))
		}
		if hop == maxRedirects {
			drainClose(resp.Body)
			return nil, "", fmt.Errorf("%s %s: more than %d redirects: %w", req.Method, RedactURL(req.URL.String()), maxRedirects, ErrBadResponse)
		}
		nreq, err := redirectRequest(ctx, cur, resp.StatusCode, next)
		if err != nil {
			drainClose(resp.Body)
			return nil, "", err
		}
		if nreq == nil {
			return resp, tok, nil // a body that cannot be re-sent: hand the redirect back
		}
		drainClose(resp.Body)
		cur = nreq
	}
}

// isRedirect reports the redirect statuses that are followed.
func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectRequest builds the request that follows prev's redirect (code) to next, as
// net/http would: 301/302/303 turn anything but GET and HEAD into a body-less GET; 307 and
// 308 re-send method, body and headers (Range, If-Match...). Authorization is left to the
// caller; Referer is never sent (URLs may hold signatures); cookies do not cross origins.
// It returns nil when prev's body cannot be re-sent.
func redirectRequest(ctx context.Context, prev *http.Request, code int, next *url.URL) (*http.Request, error) {
	method := prev.Method
	var body io.ReadCloser
	switch code {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if prev.GetBody != nil {
			b, err := prev.GetBody()
			if err != nil {
				return nil, fmt.Errorf("%s %s: re-send body: %w", prev.Method, RedactURL(prev.URL.String()), err)
			}
			body = b
		} else if prev.Body != nil && prev.Body != http.NoBody {
			return nil, nil
		}
	default:
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, next.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: redirect: %w", prev.Method, RedactURL(prev.URL.String()), redactErr(err))
	}
	r.Header = prev.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Del("Authorization")
	r.Header.Del("Referer")
	po, _ := originOf(prev.URL)
	if no, _ := originOf(next); no != po {
		r.Header.Del("Cookie")
		r.Header.Del("Proxy-Authorization")
	}
	if body == nil {
		r.Header.Del("Content-Type")
		r.Header.Del("Content-Length")
		return r, nil
	}
	r.Body = body
	r.GetBody = prev.GetBody
	r.ContentLength = prev.ContentLength
	return r, nil
}

// leavesScope reports whether a redirect to next leaves the scope: the catalog's Scope
// when there is one, else the origin of the first request.
func (c *Client) leavesScope(first, next *url.URL) bool {
	if a := c.auth(); a != nil {
		return !a.Scope.Allows(next)
	}
	fo, _ := originOf(first)
	no, ok := originOf(next)
	return !ok || fo != no
}

// signInMarkers are path and query fragments of sign-in pages (Keycloak, CAS, Earthdata
// login, generic OAuth2 authorize endpoints).
var signInMarkers = []string{"/auth", "login", "signin", "sign-in", "sign_in", "openid-connect"}

// signIn reports whether u looks like a sign-in page and is not a presigned URL.
func signIn(u *url.URL) bool {
	if Presigned(u) {
		return false
	}
	q, err := url.QueryUnescape(u.RawQuery)
	if err != nil {
		q = u.RawQuery
	}
	s := strings.ToLower(u.Path + "?" + q)
	for _, m := range signInMarkers {
		if strings.Contains(s, m) {
			return true
		}
	}
	for k := range u.Query() {
		switch strings.ToLower(k) {
		case "redirect_uri", "response_type", "client_id":
			return true
		}
	}
	return false
}

// otherOrigin reports whether b is on another origin than a.
func otherOrigin(a, b *url.URL) bool {
	oa, _ := originOf(a)
	ob, ok := originOf(b)
	return !ok || oa != ob
}
