package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// Start-up retry: at boot the network or a token server may not be up yet,
// so mount and check try the start-up steps of a catalog (sign-in, landing
// page) again with backoff for a bounded time; an answer that will not
// change by trying again (bad credentials, a 4xx) fails at once. Each try
// has its own deadline, so that a server that accepts connections and never
// answers is tried again (and logged) like one that refuses them.
const (
	defaultStartTimeout = 2 * time.Minute  // mount --start-timeout
	checkStartTimeout   = 10 * time.Second // check: one short policy for every step
	startFirstWait      = time.Second
	startMaxWait        = 15 * time.Second
	startFirstTry       = 10 * time.Second // the first try of a step; each next one may take twice as long
	startMaxTry         = 30 * time.Second
	signInTimeout       = 30 * time.Second // stacfs token's one fetch
)

// startPolicy runs a start-up step until it succeeds, fails for good, or
// total has passed.
type startPolicy struct {
	total time.Duration
	// retrying is told of each failed try that will be tried again; err
	// names the step.
	retrying func(step string, attempt int, err error, wait time.Duration)
	first    time.Duration // first wait (tests shorten it); 0 -> startFirstWait
	try      time.Duration // first try's time (tests shorten it); 0 -> startFirstTry
}

// noResponse is a try whose server did not answer within its time.
type noResponse struct {
	target string // the URL asked, redacted
	within time.Duration
}

func (e *noResponse) Error() string {
	within := e.within.Round(time.Millisecond)
	if within >= time.Second {
		within = within.Round(time.Second)
	}
	return fmt.Sprintf("no response from %s within %s", e.target, within)
}

// do runs f (one try, with its own deadline) until it succeeds. target is
// the URL the step asks (redacted), named when a try gets no answer in
// time. The error names the step once and, when it was tried more than
// once, how often over how long: "landing page: Get "http://...":
// connection refused (gave up after 5 tries in 10s)".
func (p startPolicy) do(ctx context.Context, step, target string, f func(context.Context) error) error {
	start := time.Now()
	deadline := start.Add(p.total)
	wait := p.first
	if wait <= 0 {
		wait = startFirstWait
	}
	try := p.try
	if try <= 0 {
		try = startFirstTry
	}
	for attempt := 1; ; attempt++ {
		d := min(try, max(time.Until(deadline), time.Second))
		tctx, cancel := context.WithTimeout(ctx, d)
		err := f(tctx)
		timedOut := err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			return nil
		}
		if timedOut {
			err = &noResponse{target: target, within: d}
		}
		err = withStep(step, err)
		if permanent(err) || ctx.Err() != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w (gave up after %s in %s)", err, tries(attempt), time.Since(start).Round(time.Second))
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
		try = min(2*try, startMaxTry)
	}
}

// withStep names the step in err, unless it does already (remote's errors
// say "landing page: ..." or "token https://...: ...").
func withStep(step string, err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, step+": ") || strings.HasPrefix(msg, step+" ") {
		return err
	}
	return fmt.Errorf("%s: %w", step, err)
}

// tries is "1 try" or "n tries".
func tries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return strconv.Itoa(n) + " tries"
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
	tokens := client.Auth.Tokens
	return p.do(ctx, "token", tokens.URL(), func(ctx context.Context) error {
		_, err := tokens.Token(ctx) // never printed
		return tokenErr(err)
	})
}

// fetchLanding reads the landing page once per try, without the client's
// own retries: the policy retries, with a line per try.
func fetchLanding(ctx context.Context, cc *CatalogConfig, client *remote.Client, p startPolicy) (*remote.Landing, error) {
	probe := &remote.Client{HTTP: client.HTTP, UserAgent: client.UserAgent, Header: client.Header, Auth: client.Auth,
		Logger: client.Logger, RetryBudget: -1, StallTimeout: client.StallTimeout, MaxPerOrigin: client.MaxPerOrigin}
	src := &remote.Catalog{Client: probe, URL: cc.URL}
	var l *remote.Landing
	err := p.do(ctx, "landing page", remote.RedactURL(cc.URL), func(ctx context.Context) (err error) {
		l, err = src.ProbeLanding(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}
