// Package fakestac is a fake STAC API server for the stacfs tests and for the built-in demo
// catalog (stacfs demo). Besides the standard library it imports only the AWS SDK's
// SigV4 signer, which its S3 endpoint uses to check signatures.
//
// # What it serves
//
// One Server listens on 127.0.0.1 and answers:
//
//   - the STAC API under Options.Prefix (default "/stac"): the landing page, /conformance,
//     /collections (paged), /collections/{id}, /collections/{id}/items (paged by token),
//     /collections/{id}/items/{itemId} and /search (GET and POST);
//   - the bytes of every asset at its Asset.Path, with the HTTP behaviour chosen per asset
//     (Range, HEAD, chunked transfer, ETag);
//   - any extra route registered with Handle (token endpoints and the like), which takes
//     precedence over the rest.
//
// # STAC semantics
//
// Search filters on collections, ids, bbox (intersection), datetime, and item properties with
// the Filter extension (CQL2 JSON and text) and the Query extension (see filter.go for the
// operators; others are a 400). Datetime matching is by
// interval overlap, as real servers do: an item with start_datetime and end_datetime matches
// every query interval that overlaps [start, end], so a one-day search can return items of
// other days. Results are sorted by (datetime else start_datetime, id, collection). limit is
// clamped to Options.MaxLimit; a limit below 1 or an invalid datetime, bbox or cursor gives 400
// with a JSON body {"code", "description"}.
//
// Paging follows one of the dialects of real providers (see Paging). Cursors are opaque
// base64 strings; only PagingPOSTBody cursors carry the whole query (the next request body
// holds nothing else), the others carry an offset and rely on the client to resend the query
// (GET links repeat it, PagingPOSTMerge relies on the client merging, PagingPOSTFull repeats
// the body).
//
// # Assets
//
// An asset holds either explicit Content or Size "ramp" bytes, byte((Seed+i)%251), produced
// on the fly so that any range checks itself (see RampBytes). Assets are served with
// http.ServeContent (Range, If-Range, HEAD, conditional requests) with a strong ETag and a
// fixed Last-Modified, unless the asset asks for one of the degraded behaviours of real
// servers (NoRange, NoHEAD, NoLength, NoETag). If-Match is honoured in every mode (412).
//
// # Observation and faults
//
// Every request is logged (method, path, query, Range, headers, body, status, body bytes
// written) and the log feeds Count and BytesServed. Bytes are counted as they are handed to
// the connection, so once a client has read n bytes they are counted. A fault hook
// (SetFault) is consulted before each request and can answer with an error status, reset the
// connection, stall, or cut the body short.
//
// # Token-secured providers
//
// TokenServer (tokenserver.go) is a Keycloak-like OpenID Connect token endpoint, or a bare
// OAuth2 client-credentials one (Plain), on its own origin. Server.RequireBearer and
// Server.RequireBearerCollection (bearer.go) make paths or collections need one of its access tokens,
// answering 401 or redirecting to its login page; Server.AddGuard is the general hook and
// Server.SetMaxConcurrent answers 429 beyond a number of requests in flight. PresignStore
// (presign.go) is an S3-like store serving objects only at query-signed URLs. Asset.HrefFunc
// and Asset.AlternateFuncs render hrefs per request (fresh signatures). One file per
// provider assembles these into the providers of PROVIDERS.md: esa.go, terrascope.go,
// earthplatform.go, planetary.go (SAS API + blob host), earthdata.go (Earthdata Login +
// Thin Egress App + presigned S3), cdse.go (Keycloak with TOTP + zipper); scenario.go holds
// what they share (request logs), content.go the bytes shared with the demo.
package fakestac

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Paging is a dialect of rel=next links, taken from real providers.
type Paging int

const (
	// PagingToken: GET next links with ?token=<opaque> (stac-fastapi). A next link is emitted
	// whenever a page is full, so the last one can lead to an empty page (Terrascope). A POST
	// search gets POST next links repeating the body plus "token", with "merge": false.
	PagingToken Paging = iota
	// PagingStartRecord: GET next links with a 1-based startRecord= (ESA FedEO), also after a
	// POST search; used for /collections too.
	PagingStartRecord
	// PagingPOSTBody: a POST search gets the next link {method: POST, body: {"next":
	// "<cursor>"}, merge: false} (Earth Search); the cursor carries the whole query.
	PagingPOSTBody
	// PagingPOSTMerge: a POST search gets the next link {method: POST, body: {"token":
	// "<cursor>"}, merge: true}; the client must merge it into its previous body.
	PagingPOSTMerge
	// PagingPOSTFull: a POST search gets a next link whose body repeats the whole request
	// body plus "token", with no merge key (Planetary Computer).
	PagingPOSTFull
)

// String returns the name of the paging dialect.
func (p Paging) String() string {
	switch p {
	case PagingToken:
		return "token"
	case PagingStartRecord:
		return "startRecord"
	case PagingPOSTBody:
		return "post-body"
	case PagingPOSTMerge:
		return "post-merge"
	case PagingPOSTFull:
		return "post-full"
	}
	return "paging(" + strconv.Itoa(int(p)) + ")"
}

// Options configures a Server. The zero value is usable.
type Options struct {
	// Paging is the dialect of next links of /search (GET searches always get GET links).
	Paging Paging
	// CollectionPage is the number of collections per /collections page when the request
	// has no limit (default 10). Next links are GET, with startRecord= for
	// PagingStartRecord and token= otherwise.
	CollectionPage int
	// DefaultLimit is the search page size when the request has no limit (default 10).
	DefaultLimit int
	// MaxLimit clamps limit (default 100).
	MaxLimit int
	// NumberMatched adds numberMatched to FeatureCollections and collection lists.
	NumberMatched bool
	// SearchGET and SearchPOST choose the allowed /search methods; both false allows both.
	// A disallowed method gets 405, and the landing page advertises only allowed ones.
	SearchGET, SearchPOST bool
	// Prefix is the path of the STAC API, default "/stac"; "/" puts it at the root.
	Prefix string

	// AlwaysNext emits a next link whenever a page is full in every paging dialect, not only
	// with PagingToken (Earth Search does this too).
	AlwaysNext bool
	// Conformance lists extra conformance classes for the landing page and /conformance.
	Conformance []string
	// AssetsOnly serves no STAC API: only assets (AddItem, AddAsset, SetAssetContent) and
	// extra routes (Handle). For download hosts, object stores and token servers.
	AssetsOnly bool
}

// Server is a running fake STAC API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, http://127.0.0.1:port, without a trailing slash.
	URL string
	// STACURL is the landing page URL: URL + Prefix + "/".
	STACURL string

	// Read only after New.
	opts   Options
	prefix string // "" or "/x..." without a trailing slash
	ts     *httptest.Server
	extra  *http.ServeMux

	mu sync.Mutex
	// GUARDED_BY(mu):
	colls  []Collection                // in insertion order
	items  map[string]map[string]*Item // collection -> item id -> item
	assets map[string]*asset           // URL path -> asset; an *asset is immutable
	log    []*Request
	fault  func(*http.Request) *Fault
	guards []guard
	// protected collections: id -> the bearer check of their STAC API paths (bearer.go)
	protected             map[string]*bearerGuard
	maxInflight, inflight int // SetMaxConcurrent
}

// New starts a Server on 127.0.0.1 with a random port.
func New(o Options) *Server {
	if o.CollectionPage <= 0 {
		o.CollectionPage = 10
	}
	if o.DefaultLimit <= 0 {
		o.DefaultLimit = 10
	}
	if o.MaxLimit <= 0 {
		o.MaxLimit = 100
	}
	if !o.SearchGET && !o.SearchPOST {
		o.SearchGET, o.SearchPOST = true, true
	}
	if o.Prefix == "" {
		o.Prefix = "/stac"
	}
	prefix := "/" + strings.Trim(o.Prefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	s := &Server{
		opts:   o,
		prefix: prefix,
		extra:  http.NewServeMux(),
		items:  make(map[string]map[string]*Item),
		assets: make(map[string]*asset),
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	s.STACURL = s.URL + prefix + "/"
	return s
}

// Close shuts the server down, closing open connections.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Client returns an HTTP client for the server (the httptest client).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Handle registers an extra route on the server's http.ServeMux (Go 1.22 patterns, such as
// "POST /token"). Extra routes take precedence over the STAC API and the assets, and are
// logged and subject to faults like the rest.
func (s *Server) Handle(pattern string, h http.Handler) { s.extra.Handle(pattern, h) }

// GuardFunc inspects a request before it is routed. It returns true when it has answered
// the request itself (refusing it), false to let it through.
type GuardFunc func(w http.ResponseWriter, r *http.Request) (answered bool)

type guard struct {
	prefix string
	fn     GuardFunc
}

// AddGuard installs fn for the requests whose path starts with pathPrefix ("/" for all).
// Guards run in the order they were added, after the request is logged and after faults,
// before the extra routes, the assets and the STAC API.
func (s *Server) AddGuard(pathPrefix string, fn GuardFunc) {
	s.mu.Lock()
	s.guards = append(s.guards, guard{prefix: pathPrefix, fn: fn})
	s.mu.Unlock()
}

// SetMaxConcurrent answers 429 (Retry-After: 1, JSON body) to a request that arrives while n
// others are in flight on this server (stalled ones included); n <= 0 removes the limit.
// Refused requests are logged too.
func (s *Server) SetMaxConcurrent(n int) {
	s.mu.Lock()
	s.maxInflight = n
	s.mu.Unlock()
}

// Request is one logged request.
type Request struct {
	Method   string
	Path     string // r.URL.Path (decoded)
	RawQuery string
	Range    string // the Range header
	Header   http.Header
	Body     []byte
	Status   int   // 0 until the handler answered, and for a reset connection
	Bytes    int64 // body bytes written to the connection
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
		out[i].Header = r.Header.Clone()
		out[i].Body = bytes.Clone(r.Body)
	}
	return out
}

// Count returns the number of logged requests whose path starts with pathPrefix.
func (s *Server) Count(pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// BytesServed returns the body bytes written for requests whose path starts with pathPrefix.
func (s *Server) BytesServed(pathPrefix string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, r := range s.log {
		if strings.HasPrefix(r.Path, pathPrefix) {
			n += r.Bytes
		}
	}
	return n
}

// Reset clears the request log and so the counters. Requests in flight are no longer counted.
func (s *Server) Reset() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// Fault is an injected failure for one request. Stall applies first, then the first of
// Reset, Status and ShortBody that is set.
type Fault struct {
	// Status answers with this status and a JSON error body (e.g. 503, 429, 401).
	Status int
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// Reset closes the connection abruptly (TCP RST) without answering.
	Reset bool
	// Stall delays the answer (or the other fault) by this long, or until the client goes.
	Stall time.Duration
	// Hold, when set, delays the answer (after Stall) until it is closed, or the
	// client goes: a test releases a held request when it has seen what it waits for.
	Hold <-chan struct{}
	// ShortBody serves the request normally but cuts the body at half of its
	// Content-Length and closes the connection. Without a Content-Length the body is cut
	// at half of its first write.
	ShortBody bool
}

// SetFault installs a hook consulted before each request; nil removes it. The hook runs on
// the request's goroutine, without the server's lock, and returns nil for no fault.
func (s *Server) SetFault(f func(r *http.Request) *Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Range:    r.Header.Get("Range"),
		Header:   r.Header.Clone(),
		Body:     body,
	}
	s.mu.Lock()
	s.log = append(s.log, rec)
	hook := s.fault
	s.inflight++
	busy := s.maxInflight > 0 && s.inflight > s.maxInflight
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()

	lw := &logWriter{ResponseWriter: w, s: s, rec: rec, limit: -1}
	if busy {
		lw.Header().Set("Retry-After", "1")
		writeError(lw, http.StatusTooManyRequests, "TooManyRequests", "too many concurrent requests")
		return
	}
	if hook != nil {
		if f := hook(r); f != nil {
			if f.Stall > 0 {
				t := time.NewTimer(f.Stall)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			if f.Hold != nil {
				select {
				case <-f.Hold:
				case <-r.Context().Done():
					return
				}
			}
			switch {
			case f.Reset:
				resetConn(w)
				return
			case f.Status != 0:
				if f.RetryAfter != "" {
					lw.Header().Set("Retry-After", f.RetryAfter)
				}
				writeError(lw, f.Status, "InjectedFault", "fault injected by fakestac")
				return
			case f.ShortBody:
				lw.cut = true
			}
		}
	}
	s.route(lw, r)
}

// resetConn closes the client connection abruptly, with a TCP RST when possible.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	guards := slices.Clone(s.guards)
	s.mu.Unlock()
	for _, g := range guards {
		if strings.HasPrefix(r.URL.Path, g.prefix) && g.fn(w, r) {
			return
		}
	}
	if h, pattern := s.extra.Handler(r); pattern != "" {
		h.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	a := s.assets[r.URL.Path]
	s.mu.Unlock()
	if a != nil {
		a.serve(w, r)
		return
	}
	p := r.URL.Path
	if s.opts.AssetsOnly {
		writeError(w, http.StatusNotFound, "NotFound", "no such path: "+p)
		return
	}
	if s.prefix == "" || p == s.prefix || strings.HasPrefix(p, s.prefix+"/") {
		s.serveSTAC(w, r)
		return
	}
	writeError(w, http.StatusNotFound, "NotFound", "no such path: "+p)
}

// logWriter records the status and the body bytes of a response in its Request, and cuts
// the body short for a ShortBody fault.
type logWriter struct {
	http.ResponseWriter
	s           *Server
	rec         *Request
	wroteHeader bool
	cut         bool  // ShortBody fault
	limit       int64 // with cut: body bytes to let through, -1 until known
	written     int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	w.s.mu.Lock()
	w.rec.Status = code
	w.s.mu.Unlock()
	if w.cut {
		if cl, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
			w.limit = cl / 2
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.cut {
		if w.limit < 0 {
			w.limit = w.written + int64(len(p))/2
		}
		if w.written+int64(len(p)) > w.limit {
			_, _ = w.write(p[:w.limit-w.written])
			w.Flush()
			panic(http.ErrAbortHandler) // closes the connection without finishing the body
		}
	}
	return w.write(p)
}

// write counts p before handing it on, so a client never sees bytes that are not counted
// yet, and takes back what was not written.
func (w *logWriter) write(p []byte) (int, error) {
	w.s.mu.Lock()
	w.rec.Bytes += int64(len(p))
	w.s.mu.Unlock()
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	if n < len(p) {
		w.s.mu.Lock()
		w.rec.Bytes -= int64(len(p) - n)
		w.s.mu.Unlock()
	}
	return n, err
}

// Flush sends buffered data to the client.
func (w *logWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiError is the JSON error body of the STAC API (stac-fastapi style).
type apiError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, "application/json", apiError{Code: code, Description: desc})
}

// writeJSON answers with v as JSON, with a Content-Length.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
