package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// maxBody bounds the body of a STAC API response (a variable so tests can lower it).
var maxBody int64 = 64 << 20

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
	// headers, a STAC call), retries included: 0 -> DefaultRetryBudget (30 s), < 0 -> no
	// retries. Answers 408, 429 and 5xx (but 501 and 505), transport errors, stalls and
	// bodies cut short are retried with jittered exponential backoff (100 ms doubling up to
	// 5 s, full jitter), or after the Retry-After the server asks for; a Retry-After longer
	// than what is left of the budget ends the retries at once. The wait for response
	// headers (a slot of MaxPerOrigin included) is bounded by min(30 s, what is left of
	// the budget, but at least min(budget, 1 s)). When the budget is spent the error wraps
	// the last cause. See the package documentation, "Retries".
	RetryBudget time.Duration
	// StallTimeout is how long one read of a response body may wait without a byte
	// before the request is abandoned (and retried, or resumed by ReadAt): 0 ->
	// DefaultStallTimeout (20 s).
	StallTimeout time.Duration
	// MaxPerOrigin bounds the concurrent HTTP exchanges per origin (scheme://host:port):
	// 0 -> DefaultMaxPerOrigin (16). A slot is taken per exchange (each redirect hop) and
	// given back when the response body is read to its end or closed; a body left open
	// (Open) holds its slot. Read when the origin is first used.
	MaxPerOrigin int
	// Observer, when set, is told of every HTTP exchange, body byte and
	// retry (for metrics).
	Observer Observer

	lim       limiter       // per-origin semaphores
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

// drainClose reads what is left of a body, up to a bound, so the connection can be reused,
// then closes it. A longer remainder is cheaper to abandon with the connection.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// stacRequest describes one STAC API call: the method, the absolute URL, the JSON body
// (POST only) and headers given by a link.
type stacRequest struct {
	method string
	url    string
	body   []byte
	header http.Header
}

// key identifies a request for loop detection: the same method, URL and body twice means
// the server is sending us in circles.
func (r stacRequest) key() string {
	return r.method + "\n" + r.url + "\n" + string(r.body)
}

// stac performs a STAC API call and returns the body (bounded by maxBody) and the URL of
// the document (after redirects), against which relative links resolve. Transient
// failures are retried (Client.RetryBudget).
func (c *Client) stac(ctx context.Context, r stacRequest) ([]byte, *url.URL, error) {
	type doc struct {
		b []byte
		u *url.URL
	}
	rt := c.newRetrier(ctx, r.method, r.url)
	d, err := retryLoop(rt, func() (doc, error) {
		b, u, err := c.stacOnce(rt, r)
		return doc{b, u}, err
	})
	return d.b, d.u, err
}

// stacOnce is one attempt of stac.
func (c *Client) stacOnce(rt *retrier, r stacRequest) ([]byte, *url.URL, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(rt.ctx, r.method, r.url, body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", r.method, RedactURL(r.url), redactErr(err))
	}
	req.Header.Set("Accept", "application/geo+json, application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c != nil {
		for k, vs := range c.Header {
			req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	for k, vs := range r.header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	resp, err := rt.do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, statusError(resp)
	}
	defer drainClose(resp.Body)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", r.method, RedactURL(r.url), redactErr(err))
	}
	if int64(len(b)) > maxBody {
		return nil, nil, fmt.Errorf("%s %s: body larger than %d bytes: %w", r.method, RedactURL(r.url), maxBody, ErrBadResponse)
	}
	return b, resp.Request.URL, nil
}
