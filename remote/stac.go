package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxBody bounds the body of a STAC API response (a variable so tests can lower it).
var maxBody int64 = 64 << 20

// Catalog is a STAC API.
type Catalog struct {
	Client *Client
	URL    string // landing page URL as configured

	mu      sync.Mutex         // guards landing
	landing *Landing           // memoised by Landing once fetched successfully
	loads   singleflight.Group // the landing fetch in flight
}

// Landing is the landing page of a STAC API, with the endpoints stacfs uses.
type Landing struct {
	ID         string
	ConformsTo []string
	SearchURL  string // from link rel=search (resolved absolute), else URL+"search"
	SearchPOST bool   // a rel=search link with method POST exists
	SearchGET  bool   // a rel=search link with method GET (or no method) exists
	DataURL    string // rel=data, else URL+"collections"
	Raw        json.RawMessage
}

// Conforms reports whether any conformsTo class contains substr.
func (l *Landing) Conforms(substr string) bool {
	for _, c := range l.ConformsTo {
		if strings.Contains(c, substr) {
			return true
		}
	}
	return false
}

// link is a STAC link object, with the fields of stac-api-spec paging links.
type link struct {
	Rel     string                     `json:"rel"`
	Href    string                     `json:"href"`
	Type    string                     `json:"type"`
	Method  string                     `json:"method"`
	Body    json.RawMessage            `json:"body"`
	Merge   bool                       `json:"merge"`
	Headers map[string]json.RawMessage `json:"headers"`
}

// header returns the link's headers; values may be a string or an array of strings.
func (l *link) header() http.Header {
	if len(l.Headers) == 0 {
		return nil
	}
	h := http.Header{}
	for k, raw := range l.Headers {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			h.Add(k, s)
			continue
		}
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			for _, v := range ss {
				h.Add(k, v)
			}
		}
	}
	return h
}

// dirURL returns u with a trailing '/', so "https://h/stac" and "https://h/stac/" resolve
// relative references the same way.
func dirURL(u string) (*url.URL, error) {
	p, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(p.Path, "/") {
		p.Path += "/"
		if p.RawPath != "" {
			p.RawPath += "/"
		}
	}
	return p, nil
}

// resolve resolves href against base.
func resolve(base *url.URL, href string) (string, error) {
	r, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("link %q: %w", RedactURL(href), ErrBadResponse)
	}
	return base.ResolveReference(r).String(), nil
}

// Landing returns the landing page, fetched once and memoised (a failure is not).
// Relative links on the landing page are resolved against the landing URL with a trailing
// '/', so a configured URL works with and without it.
func (c *Catalog) Landing(ctx context.Context) (*Landing, error) {
	peek := func() (*Landing, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.landing, c.landing != nil
	}
	// One fetch serves every caller waiting for it (bounded by the retry budget).
	return shared(ctx, &c.loads, "landing", peek, c.loadLanding)
}

// ProbeLanding fetches the landing page once, bounded by ctx alone, and memoises it as
// Landing does. Unlike Landing, the fetch is not shared with other callers, so the end of
// ctx ends the request: start-up checks give each try its own deadline and try again.
func (c *Catalog) ProbeLanding(ctx context.Context) (*Landing, error) {
	return c.loadLanding(ctx)
}

// loadLanding fetches the landing page and memoises it (the first one
// memoised wins).
func (c *Catalog) loadLanding(ctx context.Context) (*Landing, error) {
	l, err := c.fetchLanding(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.landing == nil {
		c.landing = l
	}
	return c.landing, nil
}

func (c *Catalog) fetchLanding(ctx context.Context) (*Landing, error) {
	raw, _, err := c.Client.stac(ctx, stacRequest{method: http.MethodGet, url: c.URL})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	base, err := dirURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("landing page %s: %w", RedactURL(c.URL), err)
	}
	var doc struct {
		ID         string   `json:"id"`
		ConformsTo []string `json:"conformsTo"`
		Links      []link   `json:"links"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("landing page %s: %w: %v", RedactURL(c.URL), ErrBadResponse, err)
	}
	if err := checkLandingShape(c.URL, raw); err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	l := &Landing{ID: doc.ID, ConformsTo: doc.ConformsTo, Raw: raw}
	for _, ln := range doc.Links {
		switch ln.Rel {
		case "search":
			href, err := resolve(base, ln.Href)
			if err != nil {
				continue
			}
			if l.SearchURL == "" {
				l.SearchURL = href
			}
			switch strings.ToUpper(ln.Method) {
			case "", http.MethodGet:
				l.SearchGET = true
			case http.MethodPost:
				l.SearchPOST = true
			}
		case "data":
			if l.DataURL == "" {
				if href, err := resolve(base, ln.Href); err == nil {
					l.DataURL = href
				}
			}
		}
	}
	if l.SearchURL == "" {
		l.SearchURL, _ = resolve(base, "search")
	}
	if l.DataURL == "" {
		l.DataURL, _ = resolve(base, "collections")
	}
	return l, nil
}

// Collection is a STAC collection.
type Collection struct {
	ID, Title  string
	Start, End time.Time       // extent.temporal.interval[0]; zero when null/absent
	Raw        json.RawMessage // the collection exactly as the API returned it
}

// parseCollection decodes the fields stacfs uses; raw is kept as is (not copied).
func parseCollection(raw json.RawMessage) (Collection, error) {
	var doc struct {
		ID     string `json:"id"`
		Title  string `json:"title"`
		Extent struct {
			Temporal struct {
				Interval [][]*string `json:"interval"`
			} `json:"temporal"`
		} `json:"extent"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		// A malformed extent should not lose the collection: retry with id and title only.
		var min struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		}
		if err2 := json.Unmarshal(raw, &min); err2 != nil {
			return Collection{}, fmt.Errorf("collection: %w: %v", ErrBadResponse, err)
		}
		doc.ID, doc.Title = min.ID, min.Title
	}
	if doc.ID == "" {
		return Collection{}, fmt.Errorf("collection without id: %w", ErrBadResponse)
	}
	col := Collection{ID: doc.ID, Title: doc.Title, Raw: raw}
	if iv := doc.Extent.Temporal.Interval; len(iv) > 0 {
		if len(iv[0]) > 0 && iv[0][0] != nil {
			col.Start, _ = ParseTime(*iv[0][0])
		}
		if len(iv[0]) > 1 && iv[0][1] != nil {
			col.End, _ = ParseTime(*iv[0][1])
		}
	}
	return col, nil
}

// Collections lists every collection following rel=next links (GET or POST, as given),
// stopping on no next, empty page, repeated link; de-duplicates ids; order as returned.
func (c *Catalog) Collections(ctx context.Context) ([]Collection, error) {
	l, err := c.Landing(ctx)
	if err != nil {
		return nil, err
	}
	var out []Collection
	seen := map[string]bool{}
	err = c.walk(ctx, stacRequest{method: http.MethodGet, url: l.DataURL}, false, func(doc *pageDoc) (int, error) {
		fresh := 0
		for _, raw := range doc.Collections {
			col, err := parseCollection(raw)
			if err != nil {
				return 0, err
			}
			if seen[col.ID] {
				continue
			}
			seen[col.ID] = true
			out = append(out, col)
			fresh++
		}
		return fresh, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return out, nil
}

// collectionURL is DataURL/{id} with id path-escaped.
func collectionURL(l *Landing, id string) string {
	return strings.TrimSuffix(l.DataURL, "/") + "/" + url.PathEscape(id)
}

// Collection fetches one collection: GET {DataURL}/{id} (path-escaped).
func (c *Catalog) Collection(ctx context.Context, id string) (Collection, error) {
	l, err := c.Landing(ctx)
	if err != nil {
		return Collection{}, err
	}
	raw, _, err := c.Client.stac(ctx, stacRequest{method: http.MethodGet, url: collectionURL(l, id)})
	if err != nil {
		return Collection{}, fmt.Errorf("collection %s: %w", id, err)
	}
	col, err := parseCollection(raw)
	if err != nil {
		return Collection{}, fmt.Errorf("collection %s: %w", id, err)
	}
	return col, nil
}

// Item fetches one item: GET {DataURL}/{collection}/items/{id} (path-escaped). An item
// without a collection field gets the one asked for.
func (c *Catalog) Item(ctx context.Context, collection, id string) (Item, error) {
	l, err := c.Landing(ctx)
	if err != nil {
		return Item{}, err
	}
	u := collectionURL(l, collection) + "/items/" + url.PathEscape(id)
	raw, _, err := c.Client.stac(ctx, stacRequest{method: http.MethodGet, url: u})
	if err != nil {
		return Item{}, fmt.Errorf("item %s/%s: %w", collection, id, err)
	}
	it, err := parseItem(raw)
	if err != nil {
		return Item{}, fmt.Errorf("item %s/%s: %w", collection, id, err)
	}
	if it.Collection == "" {
		it.Collection = collection
	}
	return it, nil
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
