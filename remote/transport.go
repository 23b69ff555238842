package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// maxHeaderWait bounds the wait for response headers (as the Transport's
// ResponseHeaderTimeout of NewHTTPClient does), and so does what is left of the budget.
const maxHeaderWait = 30 * time.Second

// errStalled marks a request abandoned by its watchdog: no response headers in time, or a
// body that delivered no byte for the stall timeout. Such a request is retried.
var errStalled = errors.New("stalled")

// transportError marks an error of the HTTP exchange itself (connection refused or reset,
// EOF before the headers, a body read failing): worth retrying unless permanent.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

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

// countingBody reports the bytes read from a response body.
type countingBody struct {
	io.ReadCloser
	origin string
	obs    Observer
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.obs.Bytes(b.origin, n)
	}
	return n, err
}

// drainClose reads what is left of a body, up to a bound, so the connection can be reused,
// then closes it. A longer remainder is cheaper to abandon with the connection.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// limiter bounds the concurrent exchanges per origin, with one semaphore per
// scheme://host:port.
type limiter struct {
	mu   sync.Mutex
	sems map[string]*semaphore.Weighted // guarded by mu; a semaphore is sized when first made
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
		l.sems = map[string]*semaphore.Weighted{}
	}
	sem := l.sems[key]
	if sem == nil {
		sem = semaphore.NewWeighted(int64(c.maxPerOrigin()))
		l.sems[key] = sem
	}
	l.mu.Unlock()
	// A free slot is taken even when ctx has ended (the request then fails on its own).
	if !sem.TryAcquire(1) {
		if err := sem.Acquire(ctx, 1); err != nil {
			return nil, context.Cause(ctx)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { sem.Release(1) }) }, nil
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
