package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// maxPages bounds how many pages Search and Collections fetch.
var maxPages = 10000

// Search parameters (item search).
type Search struct {
	Collections []string
	Datetime    string // RFC3339 instant or interval "a/b", ".." open ends; "" = none
	Bbox        []float64
	IDs         []string
	Limit       int            // 0 -> server default
	Extra       map[string]any // extra body/query fields (filter, query) for later issues
}

// Page is one page of search results, ids already seen on earlier pages removed.
type Page struct {
	Items         []Item
	NumberMatched int64 // -1 when absent (also reads context.matched)
}

// pageDoc is a page of items (FeatureCollection) or of collections.
type pageDoc struct {
	Features      []json.RawMessage `json:"features"`
	Collections   []json.RawMessage `json:"collections"`
	Links         []link            `json:"links"`
	NumberMatched *int64            `json:"numberMatched"`
	Context       *struct {
		Matched *int64 `json:"matched"`
	} `json:"context"`
}

// decodePage decodes a page: validated once, then its members taken with gjson (a page of
// 1 000 real items is 10-25 MB: encoding/json would validate it, then scan it again to
// copy each feature).
func decodePage(raw []byte) (*pageDoc, error) {
	var doc pageDoc
	if !json.Valid(raw) {
		return nil, json.Unmarshal(raw, &doc) // its error says where
	}
	root := gjson.ParseBytes(raw)
	if !root.IsObject() { // null is an empty page, as encoding/json has it
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		return &doc, nil
	}
	var err error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.String() {
		case "features":
			doc.Features, err = rawArray(k.String(), v)
		case "collections":
			doc.Collections, err = rawArray(k.String(), v)
		case "links":
			doc.Links = nil
			err = json.Unmarshal([]byte(v.Raw), &doc.Links)
		case "numberMatched":
			doc.NumberMatched = nil
			err = json.Unmarshal([]byte(v.Raw), &doc.NumberMatched)
		case "context":
			doc.Context = nil
			err = json.Unmarshal([]byte(v.Raw), &doc.Context)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return &doc, nil
}

// peekNext finds the next link of a page without validating or decoding the rest of it
// (nil when there is none, or the page is not what it should be: decodePage says why).
func peekNext(raw []byte) *link {
	l := gjson.GetBytes(raw, "links")
	if !l.IsArray() {
		return nil
	}
	var doc pageDoc
	if json.Unmarshal([]byte(l.Raw), &doc.Links) != nil {
		return nil
	}
	return doc.next()
}

// rawArray copies the elements of a JSON array (nil for null).
func rawArray(name string, v gjson.Result) ([]json.RawMessage, error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%s is not an array", name)
	}
	var out []json.RawMessage
	v.ForEach(func(_, e gjson.Result) bool {
		out = append(out, json.RawMessage(e.Raw))
		return true
	})
	return out, nil
}

func (d *pageDoc) matched() int64 {
	if d.NumberMatched != nil {
		return *d.NumberMatched
	}
	if d.Context != nil && d.Context.Matched != nil {
		return *d.Context.Matched
	}
	return -1
}

func (d *pageDoc) next() *link {
	for i := range d.Links {
		if d.Links[i].Rel == "next" && d.Links[i].Href != "" {
			return &d.Links[i]
		}
	}
	return nil
}

// Search runs an item search (POST when the landing advertises only POST or Extra is set
// and POST is available, else GET) and calls fn for each page; fn returns false to stop.
// Follows rel=next links exactly as given (stac-api-spec): method defaults to GET; GET
// links carry their cursor in the URL; POST links send body as given, or merged into the
// previous body with merge:true; headers from the link are applied. Stops on missing next,
// empty page, a page with no new item, repeated link (same method+href+body), or after
// maxPages pages (without error); de-duplicates item ids (per collection) across pages
// (items already seen are dropped from later pages). fn is called for the first page even
// when it is empty, and afterwards only for pages with new items.
func (c *Catalog) Search(ctx context.Context, q Search, fn func(*Page) bool) error {
	l, err := c.Landing(ctx)
	if err != nil {
		return err
	}
	post := l.SearchPOST && (!l.SearchGET || len(q.Extra) > 0)
	var req stacRequest
	if post {
		req, err = searchPOST(l.SearchURL, q)
	} else {
		req, err = searchGET(l.SearchURL, q)
	}
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defaultCol := ""
	if len(q.Collections) == 1 {
		defaultCol = q.Collections[0]
	}
	seen := map[string]bool{}
	first := true
	stopped := false
	err = c.walk(ctx, req, q.Limit >= eagerLimit, func(doc *pageDoc) (int, error) {
		page := &Page{NumberMatched: doc.matched(), Items: make([]Item, 0, len(doc.Features))}
		for _, raw := range doc.Features {
			it, err := parseFeature(raw) // the page is valid JSON
			if err != nil {
				return 0, err
			}
			if it.Collection == "" {
				it.Collection = defaultCol
			}
			k := it.Collection + "\x00" + it.ID
			if seen[k] {
				continue
			}
			seen[k] = true
			page.Items = append(page.Items, it)
		}
		if len(page.Items) > 0 || first {
			first = false
			if !fn(page) {
				stopped = true
				return 0, errStop
			}
		}
		return len(page.Items), nil
	})
	if stopped {
		return nil
	}
	var se *StatusError
	if first && q.Limit > refusedLimit && errors.As(err, &se) && se.Code == http.StatusBadRequest {
		// Most servers answer a limit over their maximum with their maximum; some
		// refuse it. Ask again for the page size every server takes.
		q.Limit = refusedLimit
		return c.Search(ctx, q, fn)
	}
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

// refusedLimit is the page size asked again when a server refuses a larger limit (400).
const refusedLimit = 100

// eagerLimit is the page size from which a search is taken for a listing that reads every
// page: its next page is requested while the current one is parsed.
const eagerLimit = 500

// errStop ends a walk on the caller's request.
var errStop = errors.New("stop")

// walk fetches req and follows rel=next links, calling visit for every non-empty page
// (and the first page). visit returns how many new entries the page brought.
//
// With eager, the next page is requested as soon as its link is known, before visit
// parses the current one, so that parsing overlaps the download; a walk that then stops
// (visit says so, or the page brought nothing new) cancels that request. Otherwise the
// next page is only requested after the first page's visit asked for more (a probe that
// reads one page makes one request).
func (c *Catalog) walk(ctx context.Context, req stacRequest, eager bool, visit func(*pageDoc) (int, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends a request for a page nobody will read
	type answer struct {
		raw []byte
		u   *url.URL
		err error
	}
	fetch := func(r stacRequest) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			raw, u, err := c.Client.stac(ctx, r)
			ch <- answer{raw, u, err}
		}()
		return ch
	}
	visited := map[string]bool{req.key(): true}
	pending := fetch(req)
	for i := 0; i < maxPages; i++ {
		a := <-pending
		pending = nil
		if a.err != nil {
			return a.err
		}
		early := ""
		if eager && i+1 < maxPages {
			// Ask for the next page before this one is even validated: a page
			// of 1 000 items takes a while to check and decode.
			if nl := peekNext(a.raw); nl != nil {
				if r, err := nextRequest(req, nl, a.u); err == nil && !visited[r.key()] {
					pending, early = fetch(r), r.key()
				}
			}
		}
		doc, err := decodePage(a.raw)
		if err != nil {
			return fmt.Errorf("page %d of %s: %w: %v", i+1, RedactURL(req.url), ErrBadResponse, err)
		}
		a.raw = nil
		n := len(doc.Features) + len(doc.Collections)
		if n == 0 && i > 0 {
			return nil // Terrascope, Earth Search: a last next link can lead to an empty page
		}
		var next stacRequest
		var nextErr error
		haveNext := false
		if nl := doc.next(); nl != nil && n > 0 && i+1 < maxPages {
			if next, nextErr = nextRequest(req, nl, a.u); nextErr == nil && !visited[next.key()] {
				haveNext = true
				visited[next.key()] = true
				if (eager || i > 0) && early != next.key() {
					pending = fetch(next)
				}
			}
		}
		fresh, err := visit(doc)
		if err != nil {
			return err
		}
		if n == 0 || (fresh == 0 && i > 0) {
			return nil
		}
		if nextErr != nil {
			return fmt.Errorf("page %d of %s: %w", i+1, RedactURL(req.url), nextErr)
		}
		if !haveNext {
			return nil // no next link, or the server sends us in circles
		}
		if pending == nil {
			pending = fetch(next)
		}
		req = next
	}
	return nil
}

// nextRequest builds the request a rel=next link describes, relative to the request prev
// that produced the page found at docURL.
func nextRequest(prev stacRequest, l *link, docURL *url.URL) (stacRequest, error) {
	href, err := resolve(docURL, l.Href)
	if err != nil {
		return stacRequest{}, err
	}
	method := strings.ToUpper(l.Method)
	if method == "" {
		method = http.MethodGet
	}
	next := stacRequest{method: method, url: href, header: l.header()}
	if method == http.MethodGet {
		return next, nil
	}
	body := []byte(l.Body)
	if len(bytes.TrimSpace(body)) == 0 || bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		body = nil
	}
	if l.Merge {
		if body, err = mergeBody(prev.body, body); err != nil {
			return stacRequest{}, err
		}
		if len(prev.header) > 0 {
			h := prev.header.Clone()
			for k, vs := range next.header {
				h[k] = vs
			}
			next.header = h
		}
	}
	if body == nil {
		body = []byte("{}")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return stacRequest{}, fmt.Errorf("next link body: %w: %v", ErrBadResponse, err)
	}
	next.body = compact.Bytes()
	return next, nil
}

// mergeBody overlays the top-level fields of the JSON object over onto base.
func mergeBody(base, over []byte) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &m); err != nil {
			return nil, fmt.Errorf("merge next link body: %w: %v", ErrBadResponse, err)
		}
	}
	if len(over) > 0 {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(over, &o); err != nil {
			return nil, fmt.Errorf("merge next link body: %w: %v", ErrBadResponse, err)
		}
		for k, v := range o {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// searchPOST builds the first POST search request: a JSON body with collections,
// datetime, bbox, limit, ids, then the fields of Extra (which win).
func searchPOST(searchURL string, q Search) (stacRequest, error) {
	body := map[string]any{}
	if len(q.Collections) > 0 {
		body["collections"] = q.Collections
	}
	if q.Datetime != "" {
		body["datetime"] = q.Datetime
	}
	if len(q.Bbox) > 0 {
		body["bbox"] = q.Bbox
	}
	if q.Limit > 0 {
		body["limit"] = q.Limit
	}
	if len(q.IDs) > 0 {
		body["ids"] = q.IDs
	}
	for k, v := range q.Extra {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		return stacRequest{}, fmt.Errorf("encode body: %w", err)
	}
	return stacRequest{method: http.MethodPost, url: searchURL, body: b}, nil
}

// searchGET builds the first GET search request: collections, bbox and ids as comma
// lists; Extra values as strings, or JSON for other types.
func searchGET(searchURL string, q Search) (stacRequest, error) {
	u, err := url.Parse(searchURL)
	if err != nil {
		return stacRequest{}, fmt.Errorf("search URL %s: %w", RedactURL(searchURL), ErrBadResponse)
	}
	v := u.Query()
	if len(q.Collections) > 0 {
		v.Set("collections", strings.Join(q.Collections, ","))
	}
	if q.Datetime != "" {
		v.Set("datetime", q.Datetime)
	}
	if len(q.Bbox) > 0 {
		s := make([]string, len(q.Bbox))
		for i, f := range q.Bbox {
			s[i] = strconv.FormatFloat(f, 'f', -1, 64)
		}
		v.Set("bbox", strings.Join(s, ","))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(q.IDs) > 0 {
		v.Set("ids", strings.Join(q.IDs, ","))
	}
	for k, x := range q.Extra {
		if s, ok := x.(string); ok {
			v.Set(k, s)
			continue
		}
		b, err := json.Marshal(x)
		if err != nil {
			return stacRequest{}, fmt.Errorf("encode %s: %w", k, err)
		}
		v.Set(k, string(b))
	}
	u.RawQuery = v.Encode()
	return stacRequest{method: http.MethodGet, url: u.String()}, nil
}
