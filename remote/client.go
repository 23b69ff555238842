package remote

import (
	"log/slog"
	"net/http"
	"net/url"
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

// Client does HTTP for one catalog: STAC API calls and asset reads.
type Client struct {
	HTTP      *http.Client // nil -> a default client with sensible timeouts and MaxIdleConnsPerHost >= 16
	UserAgent string       // default "stacfs"
	Header    http.Header  // extra headers for STAC API calls only (not asset reads)
	// Auth, when set, puts the catalog's bearer token on the requests its Scope allows
	// (per redirect hop), and renews a refused token and replays the request once.
	Auth *Auth
	// Logger, when set, gets one debug line per HTTP exchange (each redirect
	// hop): method, URL without query, Range, status, duration and whether a
	// token was sent; never the token or any query string. Each retry is logged at
	// debug (method, URL without query, attempt, cause, wait), giving up once at warn.
	Logger *slog.Logger

	// RetryBudget bounds the time of one operation (Stat, ReadHead, ReadAt, Open up to its
	// headers, a STAC call), retries included: 0 -> DefaultRetryBudget, < 0 -> no retries.
	// What is retried and how long it waits is retry.go's policy (docs/semantics.md,
	// "Reliability guarantees"); when the budget is spent the error wraps the last cause.
	RetryBudget time.Duration
	// StallTimeout is how long one read of a response body may wait without a byte
	// before the request is abandoned (and retried, or resumed by ReadAt): 0 ->
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxPerOrigin bounds the concurrent HTTP exchanges per origin (scheme://host:port):
	// 0 -> DefaultMaxPerOrigin. A slot is taken per exchange (each redirect hop) and
	// given back when the response body is read to its end or closed; a body left open
	// (Open) holds its slot. Read when the origin is first used.
	MaxPerOrigin int
	// Observer, when set, is told of every HTTP exchange, body byte and
	// retry (for metrics).
	Observer Observer

	lim       limiter       // per-origin semaphores
	hosts     hostBreakers  // per-origin circuit breakers (hosts down)
	retryBase time.Duration // first backoff step, 0 -> retryBase (tests shorten it)
}

// Observer receives what a Client does, for metrics. Origins are
// scheme://host[:port]; it is called from many goroutines.
type Observer interface {
	// Exchange is one HTTP exchange (one redirect hop): its status (0 for a
	// transport error) and the time to its response headers.
	Exchange(method, origin string, status int, took time.Duration)
	// Bytes counts response body bytes read from origin.
	Bytes(origin string, n int)
	// Retry counts an operation tried again after a transient failure.
	Retry(method, origin string)
}

// originLabel is scheme://host[:port] of u, as metrics label it.
func originLabel(u *url.URL) string { return u.Scheme + "://" + u.Host }

// NewHTTPClient returns the http.Client used when Client.HTTP is nil: a Transport cloned
// from http.DefaultTransport with 32 idle connections per host, HTTP/2 attempted, a 30 s
// bound on waiting for response headers, and no overall timeout (asset streams can be
// long; bound them with contexts). Callers that wrap the transport (auth) can start here.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ForceAttemptHTTP2 = true
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

// defaultHTTP is shared by every Client without its own http.Client, so connections are
// pooled across catalogs.
var defaultHTTP = sync.OnceValue(NewHTTPClient)

func (c *Client) httpClient() *http.Client {
	if c != nil && c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP()
}

func (c *Client) userAgent() string {
	if c != nil && c.UserAgent != "" {
		return c.UserAgent
	}
	return "stacfs"
}

// do sends req with the User-Agent set, following redirects and handling authentication
// (see send), and redacts URLs in transport errors. Every request of the Client goes
// through here.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", c.userAgent())
	return c.send(req)
}

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
