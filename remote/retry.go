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
	"time"
)

const (
	// retryBase and retryMax bound the backoff: the n-th wait is drawn uniformly from
	// [0, min(retryMax, retryBase<<n)] ("full jitter").
	retryBase = 100 * time.Millisecond
	retryMax  = 5 * time.Second
)

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
	if !ok || r.c.retryBudget() == 0 {
		// Not worth another attempt, or the Client makes none (RetryBudget < 0: the
		// caller retries, and says so itself).
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
		r.c.breakers().gaveUp(r.start, time.Now(), r.c.logger())
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
	if errors.Is(err, ErrHostDown) || errors.Is(err, ErrChanged) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrDenied) ||
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
