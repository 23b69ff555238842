package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is what the fault server does to one request.
type fault int

const (
	noFault      fault = iota
	fail503            // 503
	fail503Late        // 503 with Retry-After: 10
	fail429            // 429 with Retry-After: 1
	fail408            // 408
	fail404            // 404
	fail501            // 501
	reset              // hijack the connection and reset it: no answer at all
	stallHeaders       // no headers until the client gives up
	stall              // headers and half the body, then silence until the client gives up
	cut                // headers (with the whole Content-Length) and half the body, then close
	changed            // answer from another version of the object, ignoring If-Match
	bump               // the object changes (new ETag) before this answer
	shrunk             // answer from the first half of the object only, same ETag
	badLength          // a 206 whose Content-Length is half its Content-Range
	ignoreRange        // 200 with the whole object, ignoring Range
	shrunk200          // shrunk and ignoreRange
)

// faultServer serves a ramp object at /obj (Range, If-Match, HEAD) and a small JSON
// document at /stac, injecting the fault its plan gives for each request.
type faultServer struct {
	*httptest.Server
	obj  []byte
	doc  []byte
	plan func(n int) fault // fault of the n-th request (from 0)

	delay time.Duration // each answer waits this long first

	mu          sync.Mutex
	etag        string   // guarded by mu
	ranges      []string // Range of each request, guarded by mu
	ifMatch     []string // If-Match of each request, guarded by mu
	inflight    int      // guarded by mu
	maxInflight int      // guarded by mu
}

// planOf returns a plan giving faults in order, then noFault.
func planOf(faults ...fault) func(int) fault {
	return func(n int) fault {
		if n < len(faults) {
			return faults[n]
		}
		return noFault
	}
}

func always(f fault) func(int) fault { return func(int) fault { return f } }

func newFaultServer(t *testing.T, size int, plan func(int) fault) *faultServer {
	s := &faultServer{obj: ramp(size, 3), doc: []byte(`{"id":"x","conformsTo":[]}`), plan: plan, etag: `"v1"`}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *faultServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ranges)
}

func (s *faultServer) rangeOf(i int) (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ranges[i], s.ifMatch[i]
}

func (s *faultServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.ranges)
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.ifMatch = append(s.ifMatch, r.Header.Get("If-Match"))
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	f := s.plan(n)
	if f == bump {
		s.etag = `"v` + strconv.Itoa(n+2) + `"`
	}
	etag := s.etag
	s.mu.Unlock()
	// The request stops counting as in flight before its body is written: the client
	// may see the end of the body before the handler returns.
	answered := sync.OnceFunc(func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	})
	defer answered()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if f == changed {
		etag = `"other"`
	}
	switch f {
	case fail503, fail503Late, fail429, fail408, fail404, fail501:
		code := map[fault]int{fail503: 503, fail503Late: 503, fail429: 429, fail408: 408, fail404: 404, fail501: 501}[f]
		if f == fail429 {
			w.Header().Set("Retry-After", "1")
		}
		if f == fail503Late {
			w.Header().Set("Retry-After", "10")
		}
		http.Error(w, "fault", code)
		return
	case reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
		return
	case stallHeaders:
		waitGone(r)
		return
	}

	// The answer: the document, the object, or the range of it asked for.
	body, code := s.doc, http.StatusOK
	obj := s.obj
	if f == shrunk || f == shrunk200 {
		obj = obj[:len(obj)/2]
	}
	if r.URL.Path == "/obj" {
		if im := r.Header.Get("If-Match"); im != "" && f != changed && im != etag {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Accept-Ranges", "bytes")
		body = obj
		if rg := r.Header.Get("Range"); rg != "" && f != ignoreRange && f != shrunk200 {
			first, last := parseRange(rg)
			if first >= int64(len(obj)) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(obj)))
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			last = min(last, int64(len(obj))-1)
			body, code = obj[first:last+1], http.StatusPartialContent
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(obj)))
		}
	}
	if f == badLength {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	answered()
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	switch f {
	case stall, cut:
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		if f == stall {
			waitGone(r)
		}
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write(body)
}

// waitGone waits until the client abandons r (or long enough to fail any test).
func waitGone(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

// fastClient returns a Client with short backoff and stall timeout.
func fastClient(budget time.Duration) *Client {
	return &Client{RetryBudget: budget, StallTimeout: 100 * time.Millisecond, retryBase: time.Millisecond}
}

func TestReadAtRetries(t *testing.T) {
	const size = 10000
	tests := []struct {
		name      string
		plan      func(int) fault
		budget    time.Duration // 0 -> 5 s
		off       int64
		len       int
		etag      string
		wantErr   error // sentinel for errors.Is; nil: the read must succeed
		wantN     int   // checked when wantErr is set
		wantReqs  int   // 0: at least 2
		wantRange []string
		wantMatch []string
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{name: "503 three times", plan: planOf(fail503, fail503, fail503), off: 10, len: 100, wantReqs: 4},
		{name: "408 then 502-like 503", plan: planOf(fail408, fail503), off: 10, len: 100, wantReqs: 3},
		{name: "429 honours Retry-After", plan: planOf(fail429), off: 10, len: 100, wantReqs: 2, minTime: time.Second},
		{name: "connection reset", plan: planOf(reset, reset), off: 10, len: 100},
		{name: "cut at half: resume the rest", plan: planOf(cut), off: 1000, len: 2000, wantReqs: 2,
			wantRange: []string{"bytes=1000-2999", "bytes=2000-2999"}, wantMatch: []string{"", `"v1"`}},
		{name: "cut at half with an etag", plan: planOf(cut), off: 1000, len: 2000, etag: `"v1"`, wantReqs: 2,
			wantRange: []string{"bytes=1000-2999", "bytes=2000-2999"}, wantMatch: []string{`"v1"`, `"v1"`}},
		{name: "stall mid-body: resume the rest", plan: planOf(stall), off: 0, len: 4000, wantReqs: 2,
			wantRange: []string{"bytes=0-3999", "bytes=2000-3999"}, wantMatch: []string{"", `"v1"`}},
		{name: "cut then 503 then cut", plan: planOf(cut, fail503, cut), off: 0, len: 4000, wantReqs: 4,
			wantRange: []string{"bytes=0-3999", "bytes=2000-3999", "bytes=2000-3999", "bytes=3000-3999"}},
		{name: "404 not retried", plan: planOf(fail404), off: 0, len: 10, wantErr: ErrNotFound, wantReqs: 1},
		{name: "501 not retried", plan: planOf(fail501), off: 0, len: 10, wantErr: errAny, wantReqs: 1},
		{name: "412 not retried", plan: always(noFault), off: 0, len: 10, etag: `"v0"`, wantErr: ErrChanged, wantReqs: 1},
		{name: "ETag differs: not retried", plan: planOf(changed), off: 0, len: 10, etag: `"v1"`, wantErr: ErrChanged, wantReqs: 1},
		{name: "object changes during a resume: 412", plan: planOf(cut, bump), off: 0, len: 1000,
			wantErr: ErrChanged, wantN: 500, wantReqs: 2},
		{name: "other version on resume", plan: planOf(cut, changed), off: 0, len: 1000,
			wantErr: ErrChanged, wantN: 500, wantReqs: 2},
		{name: "object shorter on resume: 416", plan: planOf(cut, shrunk), off: 4000, len: 2000,
			wantErr: ErrChanged, wantN: 1000, wantReqs: 2},
		{name: "object shorter on resume: 206", plan: planOf(cut, shrunk), off: 1000, len: 2000,
			wantErr: ErrChanged, wantN: 1000, wantReqs: 2},
		{name: "object shorter on resume: 200", plan: planOf(cut, shrunk200), off: 0, len: 1000,
			wantErr: ErrChanged, wantN: 500, wantReqs: 2},
		{name: "Range ignored on resume: skip to the offset", plan: planOf(cut, ignoreRange), off: 1000, len: 2000,
			wantReqs: 2},
		{name: "Content-Length does not match Content-Range", plan: planOf(badLength), off: 0, len: 100,
			wantErr: ErrBadResponse, wantReqs: 1},
		{name: "budget spent", plan: always(fail503), budget: 300 * time.Millisecond, off: 0, len: 10,
			wantErr: errBudget, wantReqs: -1, maxTime: 600 * time.Millisecond},
		{name: "cut forever: the bytes received stay", plan: always(cut), budget: 300 * time.Millisecond, off: 0, len: 1024,
			wantErr: io.ErrUnexpectedEOF, wantN: 1023, wantReqs: -1, maxTime: 600 * time.Millisecond},
		{name: "Retry-After past the budget: give up at once", plan: always(fail503Late), budget: 2 * time.Second,
			off: 0, len: 10, wantErr: errBudget, wantReqs: 1, maxTime: 500 * time.Millisecond},
		{name: "headers never come: bounded by the budget", plan: always(stallHeaders), budget: 300 * time.Millisecond,
			off: 0, len: 10, wantErr: errStalled, wantReqs: 1, maxTime: 600 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFaultServer(t, size, tt.plan)
			budget := tt.budget
			if budget == 0 {
				budget = 5 * time.Second
			}
			c := fastClient(budget)
			p := make([]byte, tt.len)
			began := time.Now()
			n, err := c.ReadAt(context.Background(), srv.URL+"/obj", p, tt.off, tt.etag)
			took := time.Since(began)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == errBudget && (err == nil || !strings.Contains(err.Error(), "gave up")):
				t.Fatalf("err = %v, want giving up", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && tt.wantErr != errBudget && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && n != tt.len {
				t.Errorf("n = %d, want %d", n, tt.len)
			}
			if tt.wantErr != nil && n != tt.wantN {
				t.Errorf("n = %d, want %d", n, tt.wantN)
			}
			if !bytes.Equal(p[:n], srv.obj[tt.off:tt.off+int64(n)]) {
				t.Errorf("wrong bytes")
			}
			reqs := srv.requests()
			switch {
			case tt.wantReqs == 0 && reqs < 2, tt.wantReqs > 0 && reqs != tt.wantReqs:
				t.Errorf("%d requests, want %d", reqs, tt.wantReqs)
			}
			for i, want := range tt.wantRange {
				if got, _ := srv.rangeOf(i); got != want {
					t.Errorf("request %d: Range %q, want %q", i, got, want)
				}
			}
			for i, want := range tt.wantMatch {
				if _, got := srv.rangeOf(i); got != want {
					t.Errorf("request %d: If-Match %q, want %q", i, got, want)
				}
			}
			if took < tt.minTime || tt.maxTime > 0 && took > tt.maxTime {
				t.Errorf("took %v, want %v..%v", took, tt.minTime, tt.maxTime)
			}
		})
	}
}

// errBudget stands for "the retries gave up" in test tables, errAny for any error.
var (
	errBudget = errors.New("gave up")
	errAny    = errors.New("any error")
)

func TestBudgetErrorKeepsCause(t *testing.T) {
	srv := newFaultServer(t, 100, always(fail503))
	_, err := fastClient(100*time.Millisecond).ReadAt(context.Background(), srv.URL+"/obj?sig=secret", make([]byte, 10), 0, "")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the last 503 inside", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the query: %v", err)
	}
}

func TestOperationsRetry(t *testing.T) {
	ops := map[string]func(c *Client, base string) error{
		"Stat": func(c *Client, base string) error {
			info, err := c.Stat(context.Background(), base+"/obj")
			if err == nil && info.Size != 1000 {
				err = fmt.Errorf("size %d", info.Size)
			}
			return err
		},
		"ReadHead": func(c *Client, base string) error {
			b, info, err := c.ReadHead(context.Background(), base+"/obj", 100)
			if err == nil && (len(b) != 100 || info.Size != 1000 || !bytes.Equal(b, ramp(100, 3))) {
				err = fmt.Errorf("%d bytes, size %d", len(b), info.Size)
			}
			return err
		},
		"Landing": func(c *Client, base string) error {
			l, err := (&Catalog{Client: c, URL: base + "/stac"}).Landing(context.Background())
			if err == nil && l.ID != "x" {
				err = fmt.Errorf("id %q", l.ID)
			}
			return err
		},
		"Open": func(c *Client, base string) error {
			rc, _, err := c.Open(context.Background(), base+"/obj")
			if err != nil {
				return err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err == nil && !bytes.Equal(b, ramp(1000, 3)) {
				err = fmt.Errorf("%d bytes differ", len(b))
			}
			return err
		},
	}
	plans := []struct {
		name     string
		faults   []fault
		wantReqs int // 0: at least len(faults)+1
		wantErr  error
	}{
		{name: "transient errors", faults: []fault{fail503, reset, fail408, fail503}},
		{name: "cut body", faults: []fault{cut}, wantReqs: 2},
		{name: "stalled body", faults: []fault{stall}, wantReqs: 2},
		{name: "404 not retried", faults: []fault{fail404}, wantReqs: 1, wantErr: ErrNotFound},
	}
	for opName, op := range ops {
		for _, pl := range plans {
			if opName == "Stat" && (pl.faults[0] == cut || pl.faults[0] == stall) {
				continue // HEAD has no body
			}
			if opName == "Open" && (pl.faults[0] == cut || pl.faults[0] == stall) {
				continue // the caller restarts streams: see TestOpenBodyFailsToCaller
			}
			t.Run(opName+"/"+pl.name, func(t *testing.T) {
				srv := newFaultServer(t, 1000, planOf(pl.faults...))
				err := op(fastClient(5*time.Second), srv.URL)
				if pl.wantErr == nil && err != nil || pl.wantErr != nil && !errors.Is(err, pl.wantErr) {
					t.Fatalf("err = %v, want %v", err, pl.wantErr)
				}
				reqs := srv.requests()
				if pl.wantReqs > 0 && reqs != pl.wantReqs || pl.wantReqs == 0 && reqs < len(pl.faults)+1 {
					t.Errorf("%d requests, want %d", reqs, pl.wantReqs)
				}
			})
		}
	}
}

func TestOpenBodyFailsToCaller(t *testing.T) {
	for _, f := range []fault{cut, stall} {
		srv := newFaultServer(t, 1000, planOf(f))
		rc, _, err := fastClient(5*time.Second).Open(context.Background(), srv.URL+"/obj")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err == nil || len(b) != 500 {
			t.Errorf("fault %d: read %d bytes, err %v; want 500 and an error", f, len(b), err)
		}
		if f == stall && !errors.Is(err, errStalled) {
			t.Errorf("stall: err %v", err)
		}
		if srv.requests() != 1 {
			t.Errorf("fault %d: %d requests", f, srv.requests())
		}
	}
}

func TestCancelStopsRetries(t *testing.T) {
	tests := []struct {
		name string
		plan func(int) fault
		call func(ctx context.Context, c *Client, base string) error
	}{
		{"waiting a Retry-After", always(fail503Late), func(ctx context.Context, c *Client, base string) error {
			_, err := c.ReadAt(ctx, base+"/obj", make([]byte, 10), 0, "")
			return err
		}},
		{"waiting a backoff", always(fail503), func(ctx context.Context, c *Client, base string) error {
			c.retryBase = time.Second
			_, err := c.Stat(ctx, base+"/obj")
			return err
		}},
		{"waiting for headers", always(stallHeaders), func(ctx context.Context, c *Client, base string) error {
			_, err := (&Catalog{Client: c, URL: base + "/stac"}).Landing(ctx)
			return err
		}},
		{"waiting for the body", planOf(stall), func(ctx context.Context, c *Client, base string) error {
			c.StallTimeout = 10 * time.Second
			_, err := c.ReadAt(ctx, base+"/obj", make([]byte, 100), 0, "")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFaultServer(t, 1000, tt.plan)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			began := time.Now()
			err := tt.call(ctx, &Client{RetryBudget: 20 * time.Second}, srv.URL)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if took := time.Since(began); took > 400*time.Millisecond {
				t.Errorf("returned %v after the start, cancelled at 100ms", took)
			}
		})
	}
}

func TestMaxPerOrigin(t *testing.T) {
	const limit = 3
	srv := newFaultServer(t, 100000, always(noFault))
	srv.delay = 10 * time.Millisecond
	c := &Client{MaxPerOrigin: limit}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Go(func() {
			p := make([]byte, 1000)
			var err error
			switch i % 3 {
			case 0:
				_, err = c.ReadAt(context.Background(), srv.URL+"/obj", p, int64(i*1000), "")
			case 1:
				_, err = c.Stat(context.Background(), srv.URL+"/obj")
			default:
				var rc io.ReadCloser
				if rc, _, err = c.Open(context.Background(), srv.URL+"/obj"); err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.maxInflight > limit {
		t.Errorf("%d concurrent requests, limit %d", srv.maxInflight, limit)
	}
	if srv.maxInflight < 2 {
		t.Errorf("%d concurrent requests: the limit serialised everything", srv.maxInflight)
	}
}

func TestOpenBodyHoldsSlot(t *testing.T) {
	srv := newFaultServer(t, 1000, always(noFault))
	c := &Client{MaxPerOrigin: 1}
	rc, _, err := c.Open(context.Background(), srv.URL+"/obj")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.ReadAt(ctx, srv.URL+"/obj", make([]byte, 10), 0, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read while the stream holds the only slot: %v", err)
	}
	_ = rc.Close()
	if _, err := c.ReadAt(context.Background(), srv.URL+"/obj", make([]byte, 10), 0, ""); err != nil {
		t.Fatalf("read after the stream closed: %v", err)
	}
	// Another origin is not held up.
	other := newFaultServer(t, 1000, always(noFault))
	rc, _, err = c.Open(context.Background(), srv.URL+"/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := c.ReadAt(context.Background(), other.URL+"/obj", make([]byte, 10), 0, ""); err != nil {
		t.Fatalf("read from another origin: %v", err)
	}
}

// recorder is a slog.Handler keeping records.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// lines returns the records with the given message, as "level msg k=v ..." text.
func (r *recorder) lines(msg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		s := rec.Level.String() + " " + rec.Message
		rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		out = append(out, s)
	}
	return out
}

func TestRetryLogging(t *testing.T) {
	srv := newFaultServer(t, 1000, planOf(fail503, fail503))
	rec := &recorder{}
	c := fastClient(5 * time.Second)
	c.Logger = slog.New(rec)
	if _, err := c.ReadAt(context.Background(), srv.URL+"/obj?sig=secret", make([]byte, 10), 0, ""); err != nil {
		t.Fatal(err)
	}
	retries := rec.lines("retry")
	if len(retries) != 2 {
		t.Fatalf("retry lines: %q", retries)
	}
	for i, l := range retries {
		for _, want := range []string{"DEBUG", "method=GET", "url=" + srv.URL + "/obj ", "attempt=" + strconv.Itoa(i+1), "cause=", "503", "wait="} {
			if !strings.Contains(l, want) {
				t.Errorf("line %q lacks %q", l, want)
			}
		}
	}
	if len(rec.lines("giving up")) != 0 {
		t.Errorf("gave up after a success")
	}

	srv = newFaultServer(t, 1000, always(fail503))
	rec = &recorder{}
	c = fastClient(200 * time.Millisecond)
	c.Logger = slog.New(rec)
	if _, err := c.Stat(context.Background(), srv.URL+"/obj?sig=secret"); err == nil {
		t.Fatal("no error")
	}
	warns := rec.lines("giving up")
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "WARN") || !strings.Contains(warns[0], "503") {
		t.Errorf("giving-up lines: %q", warns)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.recs {
		s := r.Message
		r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		if strings.Contains(s, "secret") || strings.Contains(s, "sig=") {
			t.Errorf("log shows the query: %s", s)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", -1},
		{"soon", -1},
		{now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&StatusError{Code: 500}, true},
		{&StatusError{Code: 502}, true},
		{&StatusError{Code: 503}, true},
		{&StatusError{Code: 504}, true},
		{&StatusError{Code: 429}, true},
		{&StatusError{Code: 408}, true},
		{&StatusError{Code: 501}, false},
		{&StatusError{Code: 400}, false},
		{&StatusError{Code: 401}, false},
		{&StatusError{Code: 403}, false},
		{&StatusError{Code: 404}, false},
		{&StatusError{Code: 412}, false},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("x: %w", errStalled), true},
		{&transportError{errors.New("connection reset by peer")}, true},
		{&transportError{&net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{&transportError{errors.New(`unsupported protocol scheme "ftp"`)}, false},
		{fmt.Errorf("x: %w: %w", ErrChanged, io.ErrUnexpectedEOF), false},
		{fmt.Errorf("x: %w", ErrBadResponse), false},
		{ErrAuthRedirect, false},
		{context.Canceled, false},
		{errors.New("token refused"), false},
	}
	for _, tt := range tests {
		if got, _ := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestReadAtRandomFaults reads random ranges from a server that fails often in every way
// it can, and checks that every read gets exactly the object's bytes.
func TestReadAtRandomFaults(t *testing.T) {
	const (
		size    = 1 << 20
		reads   = 2000
		readers = 8
	)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	plan := func(int) fault {
		mu.Lock()
		x := rng.IntN(100)
		mu.Unlock()
		switch {
		case x < 10:
			return fail503
		case x < 15:
			return reset
		case x < 17:
			return stall
		case x < 18:
			return cut
		}
		return noFault
	}
	srv := newFaultServer(t, size, plan)
	c := &Client{RetryBudget: 20 * time.Second, StallTimeout: 50 * time.Millisecond, retryBase: time.Millisecond}
	work := make(chan [2]int)
	go func() {
		r := rand.New(rand.NewPCG(3, 4))
		for range reads {
			n := 1 + r.IntN(64<<10)
			work <- [2]int{r.IntN(size - n + 1), n}
		}
		close(work)
	}()
	var wrong, failed, done sync.Map
	var wg sync.WaitGroup
	for g := range readers {
		wg.Go(func() {
			for w := range work {
				off, n := w[0], w[1]
				p := make([]byte, n)
				etag := ""
				if off%2 == 0 {
					etag = `"v1"`
				}
				got, err := c.ReadAt(context.Background(), srv.URL+"/obj", p, int64(off), etag)
				key := [3]int{g, off, n}
				done.Store(key, true)
				if err != nil || got != n {
					failed.Store(key, fmt.Sprintf("n=%d err=%v", got, err))
				}
				if !bytes.Equal(p[:got], srv.obj[off:off+got]) {
					wrong.Store(key, true)
				}
			}
		})
	}
	wg.Wait()
	count := func(m *sync.Map) (k int) {
		m.Range(func(key, v any) bool {
			if k < 5 {
				t.Logf("%v: %v", key, v)
			}
			k++
			return true
		})
		return k
	}
	if n := count(&failed); n != 0 {
		t.Errorf("%d reads failed", n)
	}
	if n := count(&wrong); n != 0 {
		t.Errorf("%d reads got wrong bytes", n)
	}
	t.Logf("%d reads, %d requests", reads, srv.requests())
}

// TestNoRetryBudget: a Client with RetryBudget < 0 makes one attempt and returns its error
// as it is, without a "giving up" line: its caller retries and reports (stacfs's start-up).
func TestNoRetryBudget(t *testing.T) {
	srv := newFaultServer(t, 1000, always(fail503))
	rec := &recorder{}
	c := &Client{RetryBudget: -1, Logger: slog.New(rec)}
	_, err := c.Stat(t.Context(), srv.URL+"/obj")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 || strings.Contains(err.Error(), "gave up") {
		t.Errorf("err = %v, want the 503 alone", err)
	}
	if n := srv.requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if lines := rec.lines("giving up"); len(lines) != 0 {
		t.Errorf("giving-up lines: %q", lines)
	}
}

// TestProbeLandingDeadline: ProbeLanding ends its request at the caller's deadline (a
// server that never answers), so a start-up try can be tried again.
func TestProbeLandingDeadline(t *testing.T) {
	srv := newFaultServer(t, 1000, planOf(stallHeaders))
	cat := &Catalog{Client: &Client{RetryBudget: -1}, URL: srv.URL + "/stac"}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := cat.ProbeLanding(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v past a 200ms deadline", took)
	}
	l, err := cat.ProbeLanding(t.Context()) // the server answers the second request
	if err != nil || l.ID != "x" {
		t.Fatalf("second try: %v, %v", l, err)
	}
}
