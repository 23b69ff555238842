package remote

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNotFound is an object or document that does not exist (HTTP 404, 410).
	ErrNotFound = errors.New("not found")
	// ErrDenied is a request the server refused for lack of credentials (HTTP 401, 403).
	ErrDenied = errors.New("access denied")
	// ErrChanged is an object that changed since its version was recorded (HTTP 412, or an
	// ETag differing from the expected one).
	ErrChanged = errors.New("object changed")
	// ErrBadResponse is an answer that cannot be used: malformed JSON, an invalid
	// Content-Range, a body over the size limit.
	ErrBadResponse = errors.New("bad response")
)

// maxErrorBody is how much of a failed response's body StatusError keeps.
const maxErrorBody = 512

// StatusError is an HTTP answer that was not a success.
type StatusError struct {
	Method string
	URL    string // redacted: scheme://host/path only, never the query (it may hold signatures)
	Code   int
	Body   string // first 512 bytes of the body, for the log

	retryAfter string // the Retry-After header, if any
}

// Error returns "METHOD url: code text". The body is left out (it may echo request
// details); log e.Body separately when it helps.
func (e *StatusError) Error() string {
	text := http.StatusText(e.Code)
	if text == "" {
		return fmt.Sprintf("%s %s: status %d", e.Method, e.URL, e.Code)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, strings.ToLower(text))
}

// Is reports whether the status matches target: ErrNotFound for 404 and 410, ErrDenied for
// 401 and 403, ErrChanged for 412.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == http.StatusNotFound || e.Code == http.StatusGone
	case ErrDenied:
		return e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden
	case ErrChanged:
		return e.Code == http.StatusPreconditionFailed
	}
	return false
}

// RedactURL returns u as scheme://host/path: userinfo, query and fragment are dropped, as
// they may hold credentials or signatures. A string that does not parse as a URL is cut at
// the first '?' or '#'.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		if i := strings.Index(u, "://"); i >= 0 {
			rest := u[i+3:]
			host := rest
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				host = rest[:j]
			}
			if k := strings.LastIndexByte(host, '@'); k >= 0 {
				u = u[:i+3] + rest[k+1:]
			}
		}
		return u
	}
	r := url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path, RawPath: p.RawPath, Opaque: p.Opaque}
	if r.Opaque != "" {
		// "scheme:opaque?query": keep scheme:opaque only.
		return r.Scheme + ":" + r.Opaque
	}
	return r.String()
}

// redactErr rewrites the URL inside a *url.Error (as returned by http.Client.Do) so that
// the error text carries no query string. Other errors are returned unchanged.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// statusError builds the *StatusError for a non-2xx resp, reading (a prefix of) its body
// and closing it.
func statusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	drainClose(resp.Body)
	u := ""
	method := ""
	if resp.Request != nil {
		method = resp.Request.Method
		if resp.Request.URL != nil {
			u = RedactURL(resp.Request.URL.String())
		}
	}
	return &StatusError{Method: method, URL: u, Code: resp.StatusCode, Body: string(b),
		retryAfter: resp.Header.Get("Retry-After")}
}
