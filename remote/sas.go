package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SAS timing: a token is renewed sasMargin before its msft:expiry, or half its lifetime
// before when it lives less than sasShortLife. A failed token request is not repeated
// before sasFailRetry has passed.
var (
	sasMargin    = 60 * time.Second
	sasShortLife = 2 * time.Minute
	sasFailRetry = time.Second
)

// sasBlobSuffix is the host suffix of Azure Blob Storage accounts.
const sasBlobSuffix = ".blob.core.windows.net"

// SAS is the Signer of Microsoft Planetary Computer assets: it appends a Shared Access
// Signature token to every href on <account>.blob.core.windows.net (and on the
// emulator-style Endpoints), one token per account and container, from the SAS API's
// GET {APIURL}/token/{account}/{container}, which answers
// {"msft:expiry": "<RFC 3339>", "token": "st=...&se=...&sig=..."}.
//
// A token is shared by every read of its container and renewed in the background ahead
// of its expiry (60 s ahead, half its lifetime ahead when it lives less than 2 minutes),
// and at once when the blob host refused it (Refused): one token request per container
// and lifetime, never one per read. A 429 of the SAS API waits for its Retry-After. The
// subscription key goes to the SAS API only, as Ocp-Apim-Subscription-Key. Tokens and the
// key never appear in errors or logs.
type SAS struct {
	// APIURL is the SAS API, e.g. https://planetarycomputer.microsoft.com/api/sas/v1.
	APIURL string
	// SubscriptionKey is the optional Planetary Computer subscription key.
	SubscriptionKey string
	// Endpoints are blob origins that name the account in the path (the Azurite emulator:
	// http://127.0.0.1:10000/<account>/<container>/<blob>), as scheme://host:port.
	Endpoints []string
	// HTTP makes the token requests (nil: the package default client).
	HTTP *http.Client
	// Timeout bounds one token fetch, waits for Retry-After included (default 60 s).
	Timeout time.Duration
	// Logger gets token events (never a token); nil means slog.Default().
	Logger *slog.Logger

	now      func() time.Time // the clock (tests move it)
	requests atomic.Int64

	mu      sync.Mutex
	entries map[string]*sasEntry // GUARDED_BY(mu); "account/container"
}

// sasEntry is the token of one container.
type sasEntry struct {
	// GUARDED_BY(SAS.mu):
	token     string
	expiry    time.Time
	refreshAt time.Time
	inflight  chan struct{} // closed when the fetch in flight ends
	err       error         // the last fetch's error, while no token is usable
	failAt    time.Time
}

// Requests returns how many token requests were sent to the SAS API.
func (s *SAS) Requests() int64 { return s.requests.Load() }

func (s *SAS) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *SAS) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// container returns the account and container of u when u is a blob URL the SAS signs.
func (s *SAS) container(u *url.URL) (account, container string, ok bool) {
	host := strings.ToLower(u.Hostname())
	segs := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 3)
	if name, found := strings.CutSuffix(host, sasBlobSuffix); found && u.Scheme == "https" {
		if name == "" || strings.Contains(name, ".") || len(segs) < 2 || segs[0] == "" {
			return "", "", false
		}
		return name, segs[0], true
	}
	if o, okO := originOf(u); okO {
		for _, e := range s.Endpoints {
			eu, err := url.Parse(e)
			if err != nil {
				continue
			}
			if eo, okE := originOf(eu); okE && eo == o && len(segs) == 3 && segs[0] != "" && segs[1] != "" {
				return segs[0], segs[1], true
			}
		}
	}
	return "", "", false
}

// Sign returns href with its container's SAS token as the query, fetching the token when
// there is none yet. Hrefs that are not blob URLs, or already carry a signature, come
// back unchanged.
func (s *SAS) Sign(ctx context.Context, href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil || Presigned(u) {
		return href, nil
	}
	account, container, ok := s.container(u)
	if !ok {
		return href, nil
	}
	tok, err := s.token(ctx, account, container)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", RedactURL(href), err)
	}
	if u.RawQuery == "" {
		u.RawQuery = tok
	} else {
		u.RawQuery += "&" + tok
	}
	return u.String(), nil
}

// Refused drops the token of signed when it is still its container's, so that the next
// Sign fetches a new one (tokens have been issued already expired).
func (s *SAS) Refused(href, signed string) {
	u, err := url.Parse(href)
	if err != nil {
		return
	}
	account, container, ok := s.container(u)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[account+"/"+container]
	if e != nil && e.token != "" && strings.HasSuffix(signed, e.token) {
		e.token = ""
		s.log().Info("SAS token refused by the blob host, fetching a new one", "account", account, "container", container)
	}
}

// token returns a usable token of account/container: the cached one (starting a
// background renewal when it is due), else the result of a fetch.
func (s *SAS) token(ctx context.Context, account, container string) (string, error) {
	key := account + "/" + container
	now := s.clock()
	s.mu.Lock()
	if s.entries == nil {
		s.entries = map[string]*sasEntry{}
	}
	e := s.entries[key]
	if e == nil {
		e = &sasEntry{}
		s.entries[key] = e
	}
	if e.token != "" && now.Before(e.expiry) {
		if !now.Before(e.refreshAt) && e.inflight == nil && (e.err == nil || now.Sub(e.failAt) >= sasFailRetry) {
			s.startLocked(e, account, container)
		}
		tok := e.token
		s.mu.Unlock()
		return tok, nil
	}
	if e.inflight == nil {
		if e.err != nil && now.Sub(e.failAt) < sasFailRetry {
			err := e.err
			s.mu.Unlock()
			return "", err
		}
		s.startLocked(e, account, container)
	}
	done := e.inflight
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.token == "" {
		if e.err != nil {
			return "", e.err
		}
		return "", fmt.Errorf("SAS token of %s: refused before use", key)
	}
	return e.token, nil
}

// startLocked starts a fetch for e on a context of its own; s.mu is held.
func (s *SAS) startLocked(e *sasEntry, account, container string) {
	done := make(chan struct{})
	e.inflight = done
	go func() {
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := s.clock()
		tok, expiry, err := s.fetch(ctx, account, container)
		s.mu.Lock()
		defer s.mu.Unlock()
		defer close(done)
		e.inflight = nil
		if err != nil {
			e.err, e.failAt = err, s.clock()
			s.log().Warn("SAS token request failed", "account", account, "container", container, "error", err)
			return
		}
		life := expiry.Sub(start)
		margin := sasMargin
		if life < sasShortLife {
			margin = life / 2
		}
		e.token, e.expiry, e.refreshAt, e.err = tok, expiry, expiry.Add(-margin), nil
		if life <= 0 {
			// Already expired when issued (PlanetaryComputer#463): try it once, renew soon.
			e.expiry = start.Add(sasFailRetry)
			e.refreshAt = start
		}
		s.log().Debug("SAS token fetched", "account", account, "container", container, "expires", expiry)
	}()
}

// sasAnswer is the SAS API's token answer.
type sasAnswer struct {
	Expiry string `json:"msft:expiry"`
	Token  string `json:"token"`
}

// fetch requests the token of account/container, waiting out 429s (Retry-After, else
// one second doubling) and retrying 5xx and transport errors until ctx ends.
func (s *SAS) fetch(ctx context.Context, account, container string) (string, time.Time, error) {
	api := strings.TrimSuffix(s.APIURL, "/") + "/token/" + url.PathEscape(account) + "/" + url.PathEscape(container)
	hc := s.HTTP
	if hc == nil {
		hc = defaultHTTP()
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		tok, expiry, retry, err := s.fetchOnce(ctx, hc, api)
		if err == nil {
			return tok, expiry, nil
		}
		if retry < 0 {
			return "", time.Time{}, err
		}
		if retry == 0 {
			retry = wait
			wait = min(2*wait, 10*time.Second)
		}
		s.log().Debug("SAS token request retried", "url", RedactURL(api), "attempt", attempt, "cause", err, "wait", retry)
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", time.Time{}, fmt.Errorf("%w (after: %v)", ctx.Err(), err)
		}
	}
}

// fetchOnce is one token request. retry is < 0 for a final error, else how long to wait
// before the next attempt (0: the caller's backoff).
func (s *SAS) fetchOnce(ctx context.Context, hc *http.Client, api string) (tok string, expiry time.Time, retry time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api, nil)
	if err != nil {
		return "", time.Time{}, -1, fmt.Errorf("SAS token %s: %w", RedactURL(api), redactErr(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stacfs")
	if s.SubscriptionKey != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", s.SubscriptionKey)
	}
	s.requests.Add(1)
	resp, err := hc.Do(req)
	if err != nil {
		err = redactErr(err)
		if ctx.Err() != nil || permanent(err) {
			return "", time.Time{}, -1, fmt.Errorf("SAS token %s: %w", RedactURL(api), err)
		}
		return "", time.Time{}, 0, fmt.Errorf("SAS token %s: %w", RedactURL(api), err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode != http.StatusOK {
		se := statusError(resp)
		se.Body = s.scrub(se.Body)
		err := fmt.Errorf("SAS token: %w: %s", se, strings.TrimSpace(oneLineBody(se.Body)))
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			after := parseRetryAfter(se.retryAfter, time.Now())
			return "", time.Time{}, max(after, 0), err
		case resp.StatusCode >= 500:
			return "", time.Time{}, 0, err
		}
		return "", time.Time{}, -1, err
	}
	var a sasAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return "", time.Time{}, -1, fmt.Errorf("SAS token %s: %w: %v", RedactURL(api), ErrBadResponse, err)
	}
	a.Token = strings.TrimPrefix(strings.TrimSpace(a.Token), "?")
	if a.Token == "" {
		return "", time.Time{}, -1, fmt.Errorf("SAS token %s: answer without token: %w", RedactURL(api), ErrBadResponse)
	}
	expiry, ok := sasExpiry(a)
	if !ok {
		return "", time.Time{}, -1, fmt.Errorf("SAS token %s: answer without a usable msft:expiry or se: %w", RedactURL(api), ErrBadResponse)
	}
	return a.Token, expiry, 0, nil
}

// sasExpiry reads a token's expiry: msft:expiry, else the token's own se parameter.
func sasExpiry(a sasAnswer) (time.Time, bool) {
	if t, err := ParseTime(a.Expiry); err == nil && a.Expiry != "" {
		return t, true
	}
	q, err := url.ParseQuery(a.Token)
	if err != nil {
		return time.Time{}, false
	}
	if t, err := ParseTime(q.Get("se")); err == nil && q.Get("se") != "" {
		return t, true
	}
	return time.Time{}, false
}

// scrub removes the subscription key from text.
func (s *SAS) scrub(text string) string {
	if len(s.SubscriptionKey) >= 4 {
		text = strings.ReplaceAll(text, s.SubscriptionKey, "[redacted]")
	}
	return text
}

// oneLineBody shortens an error body to one line of at most 200 characters.
func oneLineBody(b string) string {
	b = strings.Join(strings.Fields(b), " ")
	if len(b) > 200 {
		b = b[:200] + "..."
	}
	return b
}
