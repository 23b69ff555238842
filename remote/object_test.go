package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const objSize = 1000

var objModTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

// objectServer serves one ramp object under paths that each misbehave in one way.
type objectServer struct {
	*httptest.Server
	obj []byte

	mu       sync.Mutex
	ifMatch  []string // If-Match of every GET ("" when absent)
	requests map[string]int
}

func newObjectServer(t *testing.T) *objectServer {
	s := &objectServer{obj: ramp(objSize, 7), requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *objectServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *objectServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	if r.Method == http.MethodGet {
		s.ifMatch = append(s.ifMatch, r.Header.Get("If-Match"))
	}
	s.mu.Unlock()
	content := func() { http.ServeContent(w, r, "", objModTime, bytes.NewReader(s.obj)) }
	w.Header().Set("ETag", `"v1"`)
	switch r.URL.Path {
	case "/obj":
		content()
	case "/norange", "/norange-chunked", "/norange-short":
		// Range ignored: the whole object with 200.
		if r.URL.Path == "/norange" || r.URL.Path == "/norange-short" {
			w.Header().Set("Content-Length", strconv.Itoa(objSize))
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if r.URL.Path == "/norange-short" {
			_, _ = w.Write(s.obj[:objSize/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		for i := 0; i < objSize; i += 100 {
			_, _ = w.Write(s.obj[i : i+100])
			w.(http.Flusher).Flush()
		}
	case "/short":
		// Promises the range, sends half of it, drops the connection.
		first, last := parseRange(r.Header.Get("Range"))
		last = min(last, objSize-1)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, objSize))
		w.Header().Set("Content-Length", strconv.FormatInt(last-first+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(s.obj[first : first+(last-first+1)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/wrongrange", "/badrange":
		first, last := parseRange(r.Header.Get("Range"))
		cr := fmt.Sprintf("bytes %d-%d/%d", first+1, last+1, objSize)
		if r.URL.Path == "/badrange" {
			cr = "octets 1-2/3"
		}
		w.Header().Set("Content-Range", cr)
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(s.obj[first+1 : last+2])
	case "/changed":
		// Ignores If-Match and serves another version.
		r.Header.Del("If-Match")
		w.Header().Set("ETag", `"v2"`)
		content()
	case "/capped":
		// Sends at most 7 bytes of any range.
		first, last := parseRange(r.Header.Get("Range"))
		r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", first, min(last, first+6)))
		content()
	case "/head403", "/head405", "/head501", "/head401", "/head405-norange", "/empty", "/empty416":
		if r.Method == http.MethodHead {
			code := map[string]int{"/head403": 403, "/head405": 405, "/head501": 501, "/head401": 401}[r.URL.Path]
			if code == 0 {
				code = http.StatusMethodNotAllowed
			}
			w.WriteHeader(code)
			return
		}
		switch r.URL.Path {
		case "/head401":
			w.WriteHeader(http.StatusUnauthorized)
		case "/head405-norange":
			w.Header().Set("Content-Length", strconv.Itoa(objSize))
			_, _ = w.Write(s.obj)
		case "/empty":
			http.ServeContent(w, r, "", objModTime, bytes.NewReader(nil))
		case "/empty416":
			w.Header().Set("Content-Range", "bytes */0")
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		default:
			content()
		}
	case "/denied":
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
	default:
		http.NotFound(w, r)
	}
}

// parseRange parses "bytes=a-b".
func parseRange(h string) (int64, int64) {
	a, b, _ := strings.Cut(strings.TrimPrefix(h, "bytes="), "-")
	first, _ := strconv.ParseInt(a, 10, 64)
	last, _ := strconv.ParseInt(b, 10, 64)
	return first, last
}

func TestReadAt(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		off         int64
		len         int
		etag        string
		wantN       int
		wantErr     error // nil, io.EOF (exact) or a sentinel for errors.Is
		wantIfMatch string
		wantReqs    int // 0: not checked
	}{
		{name: "206 middle", path: "/obj", off: 100, len: 50, wantN: 50, wantReqs: 1},
		{name: "206 up to the last byte", path: "/obj", off: 950, len: 50, wantN: 50},
		{name: "206 across the end", path: "/obj", off: 990, len: 50, wantN: 10, wantErr: io.EOF},
		{name: "416 at the end", path: "/obj", off: objSize, len: 10, wantErr: io.EOF},
		{name: "416 past the end", path: "/obj", off: 5000, len: 10, wantErr: io.EOF},
		{name: "200 ignoring range", path: "/norange", off: 100, len: 50, wantN: 50},
		{name: "200 ignoring range at 0", path: "/norange", off: 0, len: 50, wantN: 50},
		{name: "200 ignoring range across the end", path: "/norange", off: 990, len: 50, wantN: 10, wantErr: io.EOF},
		{name: "200 ignoring range past the end", path: "/norange", off: 2000, len: 50, wantErr: io.EOF},
		{name: "200 chunked ignoring range", path: "/norange-chunked", off: 333, len: 200, wantN: 200},
		{name: "200 chunked ignoring range across the end", path: "/norange-chunked", off: 990, len: 50, wantN: 10, wantErr: io.EOF},
		{name: "200 chunked ignoring range past the end", path: "/norange-chunked", off: 1990, len: 50, wantErr: io.EOF},
		// Cut bodies are resumed until the budget runs out: /norange-short never gets past
		// byte 500; /short sends half of each range asked, down to nothing at 199.
		{name: "200 body cut short", path: "/norange-short", off: 400, len: 200, wantN: 100, wantErr: io.ErrUnexpectedEOF},
		{name: "206 body cut short", path: "/short", off: 100, len: 100, wantN: 99, wantErr: io.ErrUnexpectedEOF},
		{name: "Content-Range elsewhere", path: "/wrongrange", off: 100, len: 10, wantErr: ErrBadResponse},
		{name: "Content-Range invalid", path: "/badrange", off: 100, len: 10, wantErr: ErrBadResponse},
		{name: "strong etag matches", path: "/obj", off: 1, len: 10, etag: `"v1"`, wantN: 10, wantIfMatch: `"v1"`},
		{name: "strong etag stale: 412", path: "/obj", off: 1, len: 10, etag: `"v0"`, wantErr: ErrChanged, wantIfMatch: `"v0"`},
		{name: "server ignores If-Match, ETag differs", path: "/changed", off: 1, len: 10, etag: `"v1"`, wantErr: ErrChanged, wantIfMatch: `"v1"`},
		{name: "weak etag: no If-Match, same tag", path: "/obj", off: 1, len: 10, etag: `W/"v1"`, wantN: 10},
		{name: "weak etag: no If-Match, tag differs", path: "/changed", off: 1, len: 10, etag: `W/"v1"`, wantErr: ErrChanged},
		{name: "no etag: anything goes", path: "/changed", off: 1, len: 10, wantN: 10},
		{name: "server caps ranges: ask again", path: "/capped", off: 10, len: 30, wantN: 30, wantReqs: 5},
		{name: "server caps ranges across the end", path: "/capped", off: 990, len: 30, wantN: 10, wantErr: io.EOF, wantReqs: 2},
		{name: "404", path: "/missing", off: 0, len: 10, wantErr: ErrNotFound},
		{name: "403", path: "/denied", off: 0, len: 10, wantErr: ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newObjectServer(t)
			c := &Client{RetryBudget: 300 * time.Millisecond, retryBase: time.Millisecond}
			p := make([]byte, tt.len)
			n, err := c.ReadAt(context.Background(), srv.URL+tt.path, p, tt.off, tt.etag)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == io.EOF && err != io.EOF:
				t.Fatalf("err = %v, want exactly io.EOF", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n != tt.wantN {
				t.Errorf("n = %d, want %d", n, tt.wantN)
			}
			if tt.off < objSize {
				if want := srv.obj[tt.off:min(int(tt.off)+n, objSize)]; !bytes.Equal(p[:n], want) {
					t.Errorf("bytes differ")
				}
			}
			srv.mu.Lock()
			ifMatch := srv.ifMatch[0]
			srv.mu.Unlock()
			if ifMatch != tt.wantIfMatch {
				t.Errorf("If-Match = %q, want %q", ifMatch, tt.wantIfMatch)
			}
			if tt.wantReqs != 0 && srv.count(tt.path) != tt.wantReqs {
				t.Errorf("%d requests, want %d", srv.count(tt.path), tt.wantReqs)
			}
		})
	}
}

func TestReadAtReusesConnections(t *testing.T) {
	s := &objectServer{obj: ramp(objSize, 7), requests: map[string]int{}}
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns[c.RemoteAddr().String()] = true
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	c := &Client{HTTP: &http.Client{Transport: &http.Transport{}}}
	p := make([]byte, 64)
	for i := 0; i < 20; i++ {
		if _, err := c.ReadAt(context.Background(), srv.URL+"/obj", p, int64(i*10), `"v1"`); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Errorf("20 sequential reads used %d connections, want 1", len(conns))
	}
}

func TestStat(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantSize   int64
		wantRanges bool
		wantETag   string
		wantErr    error
		wantGets   bool // fell back to GET
	}{
		{name: "HEAD", path: "/obj", wantSize: objSize, wantRanges: true, wantETag: `"v1"`},
		{name: "HEAD 403: ranged GET", path: "/head403", wantSize: objSize, wantRanges: true, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 405: ranged GET", path: "/head405", wantSize: objSize, wantRanges: true, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 501: ranged GET", path: "/head501", wantSize: objSize, wantRanges: true, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 405, GET ignores range", path: "/head405-norange", wantSize: objSize, wantRanges: false, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 405, empty object, 200", path: "/empty", wantSize: 0, wantRanges: false, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 405, empty object, 416", path: "/empty416", wantSize: 0, wantRanges: true, wantETag: `"v1"`, wantGets: true},
		{name: "HEAD 401 is denied", path: "/head401", wantErr: ErrDenied},
		{name: "404", path: "/missing", wantErr: ErrNotFound},
		{name: "HEAD, no length", path: "/norange-chunked", wantSize: -1, wantETag: `"v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newObjectServer(t)
			info, err := (&Client{}).Stat(context.Background(), srv.URL+tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != tt.wantSize || info.Ranges != tt.wantRanges || info.ETag != tt.wantETag {
				t.Errorf("info = %+v", info)
			}
			if !strings.HasPrefix(tt.path, "/empty") && tt.path != "/head405-norange" && tt.path != "/norange-chunked" && !info.LastModified.Equal(objModTime) {
				t.Errorf("LastModified = %v", info.LastModified)
			}
			srv.mu.Lock()
			gets := len(srv.ifMatch)
			srv.mu.Unlock()
			if (gets > 0) != tt.wantGets {
				t.Errorf("%d GETs, fallback wanted: %v", gets, tt.wantGets)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	var gotRange, gotEnc string
	obj := ramp(5000, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotRange, gotEnc = r.Header.Get("Range"), r.Header.Get("Accept-Encoding")
		if r.URL.Path != "/obj" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `W/"x"`)
		http.ServeContent(w, r, "", objModTime, bytes.NewReader(obj))
	}))
	defer srv.Close()
	c := &Client{}
	rc, info, err := c.Open(context.Background(), srv.URL+"/obj")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || !bytes.Equal(b, obj) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if info.Size != 5000 || info.ETag != `W/"x"` || gotRange != "" || gotEnc != "identity" {
		t.Errorf("info %+v, Range %q, Accept-Encoding %q", info, gotRange, gotEnc)
	}
	if _, _, err := c.Open(context.Background(), srv.URL+"/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func TestVersion(t *testing.T) {
	lm := time.Unix(100, 5)
	tests := []struct {
		info Info
		want string
	}{
		{Info{ETag: `"abc"`, Size: 5, LastModified: lm}, `"abc"`},
		{Info{ETag: `W/"abc"`, Size: 5}, `W/"abc"`},
		{Info{Size: 5, LastModified: lm}, "lm:100000000005:5"},
		{Info{Size: 6, LastModified: lm}, "lm:100000000005:6"},
		{Info{Size: -1}, "lm:0:-1"},
	}
	for _, tt := range tests {
		if got := tt.info.Version(); got != tt.want {
			t.Errorf("Version(%+v) = %q, want %q", tt.info, got, tt.want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                 string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 0-0/10", 0, 0, 10, true},
		{"bytes 5-9/*", 5, 9, -1, true},
		{"bytes 5-9/9", 0, 0, 0, false},
		{"bytes 9-5/20", 0, 0, 0, false},
		{"bytes */10", 0, 0, 0, false},
		{"items 0-1/2", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		f, l, tot, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (f != tt.first || l != tt.last || tot != tt.total)) {
			t.Errorf("parseContentRange(%q) = %d %d %d %v", tt.in, f, l, tot, err)
		}
		if err != nil && !errors.Is(err, ErrBadResponse) {
			t.Errorf("parseContentRange(%q): %v is not ErrBadResponse", tt.in, err)
		}
	}
}

func TestReadAtCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes 0-99/100")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := (&Client{}).ReadAt(ctx, srv.URL+"/x", make([]byte, 100), 0, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
