package fakestac

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// searchQuery is an item search as the client sent it.
type searchQuery struct {
	Collections []string  `json:"collections,omitempty"`
	IDs         []string  `json:"ids,omitempty"`
	Bbox        []float64 `json:"bbox,omitempty"`
	Datetime    string    `json:"datetime,omitempty"`
	Limit       int       `json:"limit,omitempty"` // 0: not given
	// Filter extension (a JSON tree, or a text string) and Query extension, as sent.
	Filter     json.RawMessage `json:"filter,omitempty"`
	FilterLang string          `json:"filter-lang,omitempty"`
	Query      json.RawMessage `json:"query,omitempty"`
}

// values renders q as GET query parameters.
func (q searchQuery) values() url.Values {
	v := url.Values{}
	if len(q.Collections) > 0 {
		v.Set("collections", strings.Join(q.Collections, ","))
	}
	if len(q.IDs) > 0 {
		v.Set("ids", strings.Join(q.IDs, ","))
	}
	if len(q.Bbox) > 0 {
		parts := make([]string, len(q.Bbox))
		for i, f := range q.Bbox {
			parts[i] = strconv.FormatFloat(f, 'f', -1, 64)
		}
		v.Set("bbox", strings.Join(parts, ","))
	}
	if q.Datetime != "" {
		v.Set("datetime", q.Datetime)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	for k, raw := range map[string]json.RawMessage{"filter": q.Filter, "query": q.Query} {
		if len(raw) > 0 {
			var text string
			if json.Unmarshal(raw, &text) != nil {
				text = string(raw)
			}
			v.Set(k, text)
		}
	}
	if q.FilterLang != "" {
		v.Set("filter-lang", q.FilterLang)
	}
	return v
}

// cursor is the content of an opaque paging token: an offset, and for self-contained
// cursors (PagingPOSTBody) the whole query.
type cursor struct {
	Off int          `json:"o"`
	Q   *searchQuery `json:"q,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Off < 0 {
		return cursor{}, fmt.Errorf("invalid paging token %q", s)
	}
	return c, nil
}

// cursorParams are the parameters that carry a paging position.
var cursorParams = []string{"token", "next", "startRecord"}

// getOffset reads the position of a GET page: startRecord (1-based) or token.
func getOffset(v url.Values) (int, error) {
	if sr := v.Get("startRecord"); sr != "" {
		n, err := strconv.Atoi(sr)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("invalid startRecord %q", sr)
		}
		return n - 1, nil
	}
	if tok := v.Get("token"); tok != "" {
		c, err := decodeCursor(tok)
		return c.Off, err
	}
	return 0, nil
}

// parseLimit returns the page size for a limit parameter: def when empty, clamped to
// MaxLimit, an error when not an integer >= 1.
func (s *Server) parseLimit(l string, def int) (int, error) {
	if l == "" {
		return min(def, s.opts.MaxLimit), nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("invalid limit %q: want an integer >= 1", l)
	}
	return min(n, s.opts.MaxLimit), nil
}

// nextGET returns the URL of the next page of a GET request: the same parameters (or q's,
// when q is not nil) with the position replaced.
func (s *Server) nextGET(r *http.Request, v url.Values, off int, startRecord bool, q *searchQuery) string {
	next := url.Values{}
	if q != nil {
		next = q.values()
	} else {
		for k, vs := range v {
			next[k] = vs
		}
	}
	for _, k := range cursorParams {
		next.Del(k)
	}
	if startRecord {
		next.Set("startRecord", strconv.Itoa(off+1))
	} else {
		next.Set("token", encodeCursor(cursor{Off: off}))
	}
	return s.URL + r.URL.EscapedPath() + "?" + next.Encode()
}

// timeRange is a parsed datetime parameter; set is false when there was none.
type timeRange struct {
	set          bool
	lo, hi       time.Time
	hasLo, hasHi bool
}

// parseDatetime parses an RFC 3339 instant or an interval "a/b" with ".." or "" for one
// open end.
func parseDatetime(s string) (timeRange, error) {
	if s == "" {
		return timeRange{}, nil
	}
	bad := fmt.Errorf("invalid datetime %q", s)
	parse := func(p string) (time.Time, bool, error) {
		if p == "" || p == ".." {
			return time.Time{}, false, nil
		}
		t, err := time.Parse(time.RFC3339Nano, p)
		if err != nil {
			return time.Time{}, false, bad
		}
		return t, true, nil
	}
	parts := strings.Split(s, "/")
	tr := timeRange{set: true}
	var err error
	switch len(parts) {
	case 1:
		if tr.lo, tr.hasLo, err = parse(parts[0]); err != nil || !tr.hasLo {
			return timeRange{}, bad
		}
		tr.hi, tr.hasHi = tr.lo, true
	case 2:
		if tr.lo, tr.hasLo, err = parse(parts[0]); err != nil {
			return timeRange{}, err
		}
		if tr.hi, tr.hasHi, err = parse(parts[1]); err != nil {
			return timeRange{}, err
		}
		if !tr.hasLo && !tr.hasHi {
			return timeRange{}, fmt.Errorf("invalid datetime %q: both ends open", s)
		}
		if tr.hasLo && tr.hasHi && tr.hi.Before(tr.lo) {
			return timeRange{}, fmt.Errorf("invalid datetime %q: end before start", s)
		}
	default:
		return timeRange{}, bad
	}
	return tr, nil
}

func parseBbox(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid bbox %q", s)
		}
		out[i] = f
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// searchRequest is a parsed /search request.
type searchRequest struct {
	q     searchQuery
	raw   map[string]json.RawMessage // POST body as sent
	cur   string                     // token or next
	start int                        // startRecord, 0 when absent
}

func parseGETSearch(v url.Values) (searchRequest, error) {
	var sr searchRequest
	sr.q.Collections = splitList(v.Get("collections"))
	sr.q.IDs = splitList(v.Get("ids"))
	if b := v.Get("bbox"); b != "" {
		bbox, err := parseBbox(b)
		if err != nil {
			return sr, err
		}
		sr.q.Bbox = bbox
	}
	sr.q.Datetime = v.Get("datetime")
	for name, dst := range map[string]*json.RawMessage{"filter": &sr.q.Filter, "query": &sr.q.Query} {
		if x := v.Get(name); x != "" {
			*dst, _ = json.Marshal(x) // as a JSON string: text, or JSON to decode
		}
	}
	sr.q.FilterLang = v.Get("filter-lang")
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return sr, fmt.Errorf("invalid limit %q: want an integer >= 1", l)
		}
		sr.q.Limit = n
	}
	sr.cur = v.Get("token")
	if sr.cur == "" {
		sr.cur = v.Get("next")
	}
	if s := v.Get("startRecord"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return sr, fmt.Errorf("invalid startRecord %q", s)
		}
		sr.start = n
	}
	return sr, nil
}

func parsePOSTSearch(body []byte) (searchRequest, error) {
	sr := searchRequest{raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &sr.raw); err != nil {
			return sr, fmt.Errorf("invalid JSON body: %v", err)
		}
	}
	field := func(name string, dst any) error {
		raw, ok := sr.raw[name]
		if !ok || string(raw) == "null" {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("invalid %s: %v", name, err)
		}
		return nil
	}
	var limit, start json.Number
	var next string
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"collections", &sr.q.Collections},
		{"ids", &sr.q.IDs},
		{"bbox", &sr.q.Bbox},
		{"datetime", &sr.q.Datetime},
		{"filter", &sr.q.Filter},
		{"filter-lang", &sr.q.FilterLang},
		{"query", &sr.q.Query},
		{"limit", &limit},
		{"token", &sr.cur},
		{"next", &next},
		{"startRecord", &start},
	} {
		if err := field(f.name, f.dst); err != nil {
			return sr, err
		}
	}
	if sr.cur == "" {
		sr.cur = next
	}
	if limit != "" {
		n, err := strconv.Atoi(limit.String())
		if err != nil || n < 1 {
			return sr, fmt.Errorf("invalid limit %s: want an integer >= 1", limit)
		}
		sr.q.Limit = n
	}
	if start != "" {
		n, err := strconv.Atoi(start.String())
		if err != nil || n < 1 {
			return sr, fmt.Errorf("invalid startRecord %s", start)
		}
		sr.start = n
	}
	return sr, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var (
		sr  searchRequest
		err error
	)
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && s.opts.SearchGET:
		sr, err = parseGETSearch(r.URL.Query())
	case r.Method == http.MethodPost && s.opts.SearchPOST:
		body, _ := readBody(r)
		sr, err = parsePOSTSearch(body)
	default:
		var allow []string
		if s.opts.SearchGET {
			allow = append(allow, "GET", "HEAD")
		}
		if s.opts.SearchPOST {
			allow = append(allow, "POST")
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" /search not allowed")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	off, selfContained := 0, false
	if sr.cur != "" {
		c, err := decodeCursor(sr.cur)
		if err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		off = c.Off
		if c.Q != nil {
			sr.q, selfContained = *c.Q, true
		}
	} else if sr.start > 0 {
		off = sr.start - 1
	}
	q := sr.q
	limit := s.opts.DefaultLimit
	if q.Limit > 0 {
		limit = q.Limit
	}
	limit = min(limit, s.opts.MaxLimit)
	if len(q.Bbox) != 0 && len(q.Bbox) != 4 && len(q.Bbox) != 6 {
		writeError(w, http.StatusBadRequest, "BadRequest", "invalid bbox: want 4 or 6 numbers")
		return
	}
	tr, err := parseDatetime(q.Datetime)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}

	filter, err := parseItemFilter(q.Filter, q.FilterLang, q.Query)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}

	for _, c := range q.Collections {
		if s.refuseCollection(w, r, c) {
			return
		}
	}
	all := s.find(r, q, tr, filter)
	page := window(all, off, limit)
	searchURL := s.STACURL + "search"
	links := []link{{Rel: "root", Type: typeJSON, Href: s.STACURL}}
	if r.Method == http.MethodPost {
		links = append(links, link{Rel: "self", Type: typeGeoJSON, Href: searchURL})
	} else {
		links = append(links, link{Rel: "self", Type: typeGeoJSON, Href: s.requestURL(r)})
	}
	if s.hasNext(off, len(page), limit, len(all)) {
		links = append(links, s.searchNext(r, sr, off+len(page), selfContained))
	}
	s.writeFeatures(w, r, page, links, len(all))
}

// searchNext builds the next link of a search page in the server's paging dialect.
func (s *Server) searchNext(r *http.Request, sr searchRequest, off int, selfContained bool) link {
	next := cursor{Off: off}
	if selfContained || (r.Method == http.MethodPost && s.opts.Paging == PagingPOSTBody) {
		q := sr.q
		next.Q = &q
	}
	l := link{Rel: "next", Type: typeGeoJSON, Href: s.STACURL + "search"}
	startRecord := s.opts.Paging == PagingStartRecord && !selfContained
	if r.Method != http.MethodPost || startRecord {
		var q *searchQuery
		if r.Method == http.MethodPost {
			q = &sr.q
		}
		if startRecord {
			l.Href = s.nextGET(r, r.URL.Query(), off, true, q)
		} else {
			v := r.URL.Query()
			for _, k := range cursorParams {
				v.Del(k)
			}
			v.Set("token", encodeCursor(next))
			l.Href = s.URL + r.URL.EscapedPath() + "?" + v.Encode()
		}
		return l
	}
	l.Method = http.MethodPost
	tok, _ := json.Marshal(encodeCursor(next))
	whole := func() map[string]json.RawMessage {
		body := make(map[string]json.RawMessage, len(sr.raw)+1)
		for k, v := range sr.raw {
			body[k] = v
		}
		for _, k := range cursorParams {
			delete(body, k)
		}
		body["token"] = tok
		return body
	}
	f, t := false, true
	switch s.opts.Paging {
	case PagingPOSTBody:
		l.Body, l.Merge = map[string]json.RawMessage{"next": tok}, &f
	case PagingPOSTMerge:
		l.Body, l.Merge = map[string]json.RawMessage{"token": tok}, &t
	case PagingPOSTFull:
		l.Body = whole()
	default: // PagingToken, and a self-contained cursor in the startRecord dialect
		l.Body, l.Merge = whole(), &f
	}
	return l
}

// readBody returns the request body (already buffered by serveHTTP).
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	if err != nil {
		return nil, errors.Join(errors.New("read body"), err)
	}
	return buf.Bytes(), nil
}
