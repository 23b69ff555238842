// Package remote is the HTTP side of stacfs: a client for STAC APIs (landing page,
// collections, item search with every paging dialect seen in the wild) and ranged reads of
// asset objects, with typed errors.
//
// # Errors
//
// Every HTTP answer that is not a success becomes a *StatusError, which matches the
// sentinels ErrNotFound (404, 410), ErrDenied (401, 403) and ErrChanged (412) under
// errors.Is. Malformed answers (bad JSON, an invalid or unexpected Content-Range, a body
// over the size limit) wrap ErrBadResponse. A changed object (its ETag differs from the
// one the caller expects) wraps ErrChanged.
//
// URLs may carry signatures or tokens in their query (presigned S3 or Azure SAS URLs), so
// no error of this package ever holds a query string: URLs are passed through RedactURL,
// also inside the *url.Error values net/http returns.
//
// # Paging
//
// Search and Collections follow rel=next links exactly as the server gives them
// (stac-api-spec): GET links carry their cursor in the URL (startRecord, token, cursor),
// POST links carry a body that is sent as given, or merged into the previous body when the
// link says merge:true. Paging stops at a page without a next link, an empty page, a page
// that brings nothing new, a repeated link, or after maxPages pages. Ids already seen are
// dropped from later pages.
//
// # Ranged reads
//
// Client.ReadAt has io.ReaderAt semantics over HTTP Range requests and copes with servers
// that ignore Range (200), cap the length of a range, or cut a body short. Bytes are
// never taken from an answer that does not fit the request: a Content-Range starting
// elsewhere or disagreeing with Content-Length (ErrBadResponse), another ETag, a 412, or
// another object size than earlier answers told (ErrChanged).
//
// # Retries
//
// Every operation (Stat, ReadHead, ReadAt, Open until its headers, each STAC call) runs
// within Client.RetryBudget (30 s by default). Answers 408, 429 and 5xx (but 501 and 505),
// transport errors (refused or reset connections, EOF before the headers), stalled
// requests and bodies cut short are retried after a backoff: full jitter over 100 ms
// doubling up to 5 s, or the Retry-After the server asked for (seconds or an HTTP date)
// when it fits in what is left of the budget. Other answers are returned at once:
// 401 (the token is renewed and the request replayed once by the authentication layer),
// 403 (callers renew presigned URLs), 404, 412, and every malformed answer. A ReadAt whose
// body is cut short or stalls resumes from the last byte received, with If-Match the
// object's strong ETag, keeping the bytes already in p.
//
// A request is abandoned and retried when its response headers take longer than
// min(30 s, what is left of the budget), or when one read of its body waits
// Client.StallTimeout (20 s) without a byte. When the budget is spent the error wraps the
// last cause (callers report EIO); when the caller's context ends the retries stop at once
// and the error wraps the context's error (context.Canceled, context.DeadlineExceeded).
//
// Client.MaxPerOrigin (16) bounds the concurrent exchanges per scheme://host:port: a slot
// is held from the request until its body is read to the end or closed.
package remote

import (
	"errors"
	"fmt"
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
