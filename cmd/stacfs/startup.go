package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// Start-up retry: at boot the network or a token server may not be up yet,
// so mount and check try the start-up steps of a catalog (sign-in, landing
// page) again with backoff for a bounded time; an answer that will not
// change by trying again (bad credentials, a 4xx) fails at once.
const (
	defaultStartTimeout = 2 * time.Minute  // mount --start-timeout
	checkStartTimeout   = 10 * time.Second // check: one short policy for every step
	startFirstWait      = time.Second
	startMaxWait        = 15 * time.Second
	startTryTimeout     = 30 * time.Second // one try of a step
	signInTimeout       = 30 * time.Second // stacfs token's one fetch
)

// startPolicy runs a start-up step until it succeeds, fails for good, or
// total has passed.
type startPolicy struct {
	total time.Duration
	// retrying is told of each failed try that will be tried again.
	retrying func(step string, attempt int, err error, wait time.Duration)
	first    time.Duration // first wait (tests shorten it); 0 -> startFirstWait
}

// do runs f (one try, bounded by startTryTimeout) until it succeeds.
func (p startPolicy) do(ctx context.Context, step string, f func(context.Context) error) error {
	deadline := time.Now().Add(p.total)
	wait := p.first
	if wait <= 0 {
		wait = startFirstWait
	}
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, min(startTryTimeout, max(time.Until(deadline), time.Second)))
		err := f(tctx)
		cancel()
		if err == nil || permanent(err) || ctx.Err() != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w (gave up after %d tries in %s)", err, attempt, p.total.Round(time.Second))
		}
		w := min(wait, left)
		if p.retrying != nil {
			p.retrying(step, attempt, err, w)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(w):
		}
		wait = min(2*wait, startMaxWait)
	}
}

// permanent reports whether trying again cannot help: the server answered
// with a client error (bad credentials, unknown path) other than 408 and
// 429, or with something that is not a STAC document.
func permanent(err error) bool {
	clientError := func(code int) bool {
		return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
	}
	var te *remote.TokenError
	if errors.As(err, &te) {
		return clientError(te.Status)
	}
	var se *remote.StatusError
	if errors.As(err, &se) {
		return clientError(se.Code)
	}
	return errors.Is(err, remote.ErrBadResponse)
}

// startCatalog runs the start-up steps of one catalog that mount and check
// share, with the same messages: signIn, fetchLanding, and the conformance
// classes its views need (every view's problem). It returns the landing page.
func startCatalog(ctx context.Context, cc *CatalogConfig, client *remote.Client, p startPolicy) (*remote.Landing, error) {
	if err := signIn(ctx, client, p); err != nil {
		return nil, err
	}
	l, err := fetchLanding(ctx, cc, client, p)
	if err != nil {
		return nil, err
	}
	return l, errors.Join(viewsConform(cc, l)...)
}

// signIn fetches the first token, so that wrong credentials fail at start
// with the token server's own message ("token: 401 invalid_client: ...").
func signIn(ctx context.Context, client *remote.Client, p startPolicy) error {
	if client.Auth == nil {
		return nil
	}
	err := p.do(ctx, "token", func(ctx context.Context) error {
		_, err := client.Auth.Tokens.Token(ctx) // never printed
		return err
	})
	if err != nil {
		return fmt.Errorf("token: %w", tokenErr(err))
	}
	return nil
}

// fetchLanding reads the landing page once per try, without the client's
// own retries: the policy retries, with a line per try.
func fetchLanding(ctx context.Context, cc *CatalogConfig, client *remote.Client, p startPolicy) (*remote.Landing, error) {
	probe := &remote.Client{HTTP: client.HTTP, UserAgent: client.UserAgent, Header: client.Header, Auth: client.Auth,
		Logger: client.Logger, RetryBudget: -1, StallTimeout: client.StallTimeout, MaxPerOrigin: client.MaxPerOrigin}
	src := &remote.Catalog{Client: probe, URL: cc.URL}
	var l *remote.Landing
	err := p.do(ctx, "landing page", func(ctx context.Context) (err error) {
		l, err = src.Landing(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	return l, nil
}
