package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the fault-tolerance settings of a Client.
const (
	// DefaultRetryBudget is the time one operation may take, retries included, when
	// Client.RetryBudget is 0.
	DefaultRetryBudget = 30 * time.Second
	// DefaultStallTimeout is how long a response body may deliver no byte before the
	// request is abandoned, when Client.StallTimeout is 0.
	DefaultStallTimeout = 20 * time.Second
	// DefaultMaxPerOrigin bounds the concurrent requests to one origin when
	// Client.MaxPerOrigin is 0.
	DefaultMaxPerOrigin = 16
)

const (
	// retryBase and retryMax bound the backoff: the n-th wait is drawn uniformly from
	// [0, min(retryMax, retryBase<<n)] ("full jitter").
	retryBase = 100 * time.Millisecond
	retryMax  = 5 * time.Second
	// maxHeaderWait bounds the wait for response headers (as the Transport's
	// ResponseHeaderTimeout of NewHTTPClient does), and so does what is left of the budget.
	maxHeaderWait = 30 * time.Second
)

// errStalled marks a request abandoned by its watchdog: no response headers in time, or a
// body that delivered no byte for the stall timeout. Such a request is retried.
var errStalled = errors.New("stalled")

// transportError marks an error of the HTTP exchange itself (connection refused or reset,
// EOF before the headers, a body read failing): worth retrying unless permanent.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) retryBudget() time.Duration {
	switch {
	case c == nil || c.RetryBudget == 0:
		return DefaultRetryBudget
	case c.RetryBudget < 0:
		return 0
	}
	return c.RetryBudget
}

func (c *Client) stallTimeout() time.Duration {
	if c == nil || c.StallTimeout <= 0 {
		return DefaultStallTimeout
	}
	return c.StallTimeout
}

func (c *Client) maxPerOrigin() int {
	if c == nil || c.MaxPerOrigin <= 0 {
		return DefaultMaxPerOrigin
	}
	return c.MaxPerOrigin
}

func (c *Client) backoffBase() time.Duration {
	if c != nil && c.retryBase > 0 {
		return c.retryBase
	}
	return retryBase
}

func (c *Client) logger() *slog.Logger {
	if c == nil {
		return nil
	}
	return c.Logger
}

// retrier carries one operation (Stat, ReadHead, ReadAt, Open, a STAC call) through its
// attempts: it decides whether a failure is retried, waits the backoff, and bounds the
// whole by the Client's retry budget and the caller's context.
type retrier struct {
	c        *Client
	ctx      context.Context // the caller's
	method   string
	url      string // redacted
	origin   string
	start    time.Time
	deadline time.Time
	attempts int // failed attempts so far
	step     int // backoff exponent; reset when an attempt made progress
}

func (c *Client) newRetrier(ctx context.Context, method, rawURL string) *retrier {
	now := time.Now()
	origin := ""
	if u, err := url.Parse(rawURL); err == nil {
		origin = originLabel(u)
	}
	return &retrier{c: c, ctx: ctx, method: method, url: RedactURL(rawURL), origin: origin, start: now, deadline: now.Add(c.retryBudget())}
}

// progress notes that the failed attempt delivered bytes: the next wait starts from the
// base backoff again (the budget still runs).
func (r *retrier) progress() { r.step = 0 }

// retry is called after an attempt failed with err. It returns nil after waiting when the
// operation should try again, else the error to return: err itself when it is not worth
// retrying, err wrapped with the context's error when the caller gave up, or err wrapped
// as the last cause when the budget is spent.
func (r *retrier) retry(err error) error {
	if r.ctx.Err() != nil {
		return r.canceled(err)
	}
	ok, after := retryable(err)
	if !ok {
		return err
	}
	r.attempts++
	wait := after
	if wait < 0 {
		ceiling := min(retryMax, r.c.backoffBase()<<min(r.step, 16))
		wait = rand.N(ceiling + 1)
		r.step++
	}
	if left := time.Until(r.deadline); wait >= left {
		if l := r.c.logger(); l != nil {
			l.LogAttrs(r.ctx, slog.LevelWarn, "giving up", slog.String("method", r.method), slog.String("url", r.url),
				slog.Int("attempts", r.attempts), slog.Duration("took", time.Since(r.start)), slog.String("cause", err.Error()))
		}
		return fmt.Errorf("gave up after %d attempts in %v: %w", r.attempts, time.Since(r.start).Round(time.Millisecond), err)
	}
	if r.c != nil && r.c.Observer != nil {
		r.c.Observer.Retry(r.method, r.origin)
	}
	if l := r.c.logger(); l != nil && l.Enabled(r.ctx, slog.LevelDebug) {
		l.LogAttrs(r.ctx, slog.LevelDebug, "retry", slog.String("method", r.method), slog.String("url", r.url),
			slog.Int("attempt", r.attempts), slog.String("cause", err.Error()), slog.Duration("wait", wait))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.canceled(err)
	}
}

// canceled returns the error of an operation whose context ended after err.
func (r *retrier) canceled(err error) error {
	cerr := r.ctx.Err()
	if errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%s %s: %w (after: %v)", r.method, r.url, cerr, err)
}

// retryable reports whether err is worth another attempt, and the wait the server asked
// for (Retry-After), or -1.
func retryable(err error) (bool, time.Duration) {
	if errors.Is(err, ErrChanged) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrDenied) ||
		(errors.Is(err, context.Canceled) && !errors.Is(err, errStalled)) {
		return false, -1
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Code == http.StatusRequestTimeout, se.Code == http.StatusTooManyRequests,
			se.Code >= 500 && se.Code <= 599 && se.Code != http.StatusNotImplemented &&
				se.Code != http.StatusHTTPVersionNotSupported:
			return true, parseRetryAfter(se.retryAfter, time.Now())
		}
		return false, -1
	}
	if errors.Is(err, errStalled) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, -1
	}
	var te *transportError
	if errors.As(err, &te) {
		return !permanent(te.err), -1
	}
	return false, -1
}

// permanent reports transport errors that another attempt will not cure: certificates
// that do not verify, hosts that do not exist, schemes net/http does not speak.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var dns *net.DNSError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return true
	case errors.As(err, &dns) && dns.IsNotFound:
		return true
	case errors.Is(err, http.ErrSchemeMismatch):
		return true
	}
	return strings.Contains(err.Error(), "unsupported protocol scheme")
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date, as a wait from
// now; -1 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// retryLoop runs attempt until it succeeds or r.retry gives up.
func retryLoop[T any](r *retrier, attempt func() (T, error)) (T, error) {
	for {
		v, err := attempt()
		if err == nil {
			return v, nil
		}
		if err = r.retry(err); err != nil {
			var zero T
			return zero, err
		}
	}
}

// do performs req (Client.do: redirects, authentication, the origin's concurrency limit)
// as one attempt of r's operation, under a watchdog: the request is abandoned when its
// response headers take longer than min(30 s, what is left of the budget but at least
// min(budget, 1 s)), or later when
// one Read of the body waits StallTimeout without a byte. Errors then wrap errStalled. The
// body of the response cancels the request's context when closed.
func (r *retrier) do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	req = req.WithContext(ctx)
	// The last attempts get at least a second (or the whole budget, when smaller), so the
	// cause the operation ends with is the server's answer rather than an impatient wait.
	wait := maxHeaderWait
	if budget := r.c.retryBudget(); budget > 0 {
		wait = min(wait, max(time.Until(r.deadline), min(budget, time.Second)))
	}
	timer := time.AfterFunc(wait, func() {
		cancel(fmt.Errorf("%s %s: no response headers within %v: %w", r.method, r.url, wait, errStalled))
	})
	resp, err := r.c.do(req)
	timer.Stop()
	w := &watchBody{parent: r.ctx, ctx: ctx, cancel: cancel, stall: r.c.stallTimeout(), method: r.method, url: r.url}
	if err != nil {
		err = w.translate(err)
		cancel(nil)
		return nil, err
	}
	w.rc = resp.Body
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	resp.Body = w
	return resp, nil
}

// watchBody is a response body under a stall watchdog: the timer runs while a Read waits
// and cancels the request when it fires.
type watchBody struct {
	rc     io.ReadCloser
	parent context.Context // the caller's context
	ctx    context.Context // the request's, cancelled by the watchdog or Close
	cancel context.CancelCauseFunc
	timer  *time.Timer
	stall  time.Duration
	method string
	url    string // redacted
}

func (w *watchBody) fire() {
	w.cancel(fmt.Errorf("%s %s: no bytes for %v: %w", w.method, w.url, w.stall, errStalled))
}

// Read reads from the body while the watchdog runs.
func (w *watchBody) Read(p []byte) (int, error) {
	w.timer.Reset(w.stall)
	n, err := w.rc.Read(p)
	w.timer.Stop()
	if err != nil && err != io.EOF {
		err = w.translate(err)
		if !errors.Is(err, errStalled) && w.parent.Err() == nil {
			var te *transportError
			if !errors.As(err, &te) {
				err = &transportError{err}
			}
		}
	}
	return n, err
}

// Close closes the body and releases the request's context.
func (w *watchBody) Close() error {
	err := w.rc.Close()
	w.timer.Stop()
	w.cancel(nil)
	return err
}

// translate turns the error of a request cancelled by the watchdog into the stall, and
// one cancelled by the caller into the caller's context error.
func (w *watchBody) translate(err error) error {
	if perr := w.parent.Err(); perr != nil {
		if errors.Is(err, perr) {
			return err
		}
		return fmt.Errorf("%w: %v", perr, err)
	}
	if cause := context.Cause(w.ctx); cause != nil && errors.Is(cause, errStalled) {
		return cause
	}
	return err
}

// limiter bounds the concurrent exchanges per origin, with one semaphore (a buffered
// channel) per scheme://host:port.
type limiter struct {
	mu   sync.Mutex
	sems map[string]chan struct{} // guarded by mu; a semaphore is sized when first made
}

// nilLimiter serves a nil *Client.
var nilLimiter limiter

func (c *Client) limiter() *limiter {
	if c == nil {
		return &nilLimiter
	}
	return &c.lim
}

// originKey returns scheme://host:port of u (default ports filled in).
func originKey(u *url.URL) string {
	if o, ok := originOf(u); ok {
		return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// acquire takes a slot of u's origin, waiting while all are taken, until ctx ends. The
// returned func gives the slot back; calling it more than once is harmless.
func (c *Client) acquire(ctx context.Context, u *url.URL) (func(), error) {
	l := c.limiter()
	key := originKey(u)
	l.mu.Lock()
	if l.sems == nil {
		l.sems = map[string]chan struct{}{}
	}
	sem := l.sems[key]
	if sem == nil {
		sem = make(chan struct{}, c.maxPerOrigin())
		l.sems[key] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
	default:
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-sem }) }, nil
}

// releaseBody gives the origin slot of its exchange back at the end of the body or when
// it is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
