package fakestac

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const assetSize = 1 << 20

// assetServer serves one ramp asset per behaviour at /a/<name>.
func assetServer(t *testing.T) *Server {
	t.Helper()
	s := New(Options{})
	t.Cleanup(s.Close)
	s.AddItem(Item{ID: "i", Collection: "c", Datetime: ptime("2024-01-02T00:00:00Z"), Assets: map[string]Asset{
		"plain":    {Path: "/a/plain", Size: assetSize, Seed: 7, Type: "image/tiff"},
		"norange":  {Path: "/a/norange", Size: assetSize, Seed: 7, NoRange: true},
		"nohead":   {Path: "/a/nohead", Size: assetSize, Seed: 7, NoHEAD: true},
		"nolength": {Path: "/a/nolength", Size: assetSize, Seed: 7, NoLength: true},
		"noetag":   {Path: "/a/noetag", Size: assetSize, Seed: 7, NoETag: true},
		"content":  {Path: "/a/content", Content: []byte("hello, world")},
		"small":    {Path: "/a/small", Size: 100, Seed: 1, NoLength: true},
	}})
	return s
}

func TestRampBytes(t *testing.T) {
	p := RampBytes(249, 0, 5)
	if !bytes.Equal(p, []byte{249, 250, 0, 1, 2}) {
		t.Errorf("RampBytes(249, 0, 5) = %v", p)
	}
	if got := RampBytes(-2, 1, 2); !bytes.Equal(got, []byte{250, 0}) {
		t.Errorf("RampBytes(-2, 1, 2) = %v", got)
	}
	r := &rampReader{size: 1000, seed: 3}
	if _, err := r.Seek(-10, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	if !bytes.Equal(b, RampBytes(3, 990, 10)) {
		t.Errorf("tail %v", b)
	}
}

func TestAssetBehaviour(t *testing.T) {
	s := assetServer(t)
	c := newClient(t)
	whole := RampBytes(7, 0, assetSize)
	tests := []struct {
		name, method, path, rng string
		status                  int
		body                    []byte // nil: not checked
		length                  int64  // resp.ContentLength
		ranges, etag            bool   // Accept-Ranges: bytes, ETag present
	}{
		{"range", "GET", "/a/plain", "bytes=1000-1999", 206, whole[1000:2000], 1000, true, true},
		{"suffix range", "GET", "/a/plain", "bytes=-5", 206, whole[assetSize-5:], 5, true, true},
		{"open range", "GET", "/a/plain", "bytes=1048570-", 206, whole[assetSize-6:], 6, true, true},
		{"whole", "GET", "/a/plain", "", 200, whole, assetSize, true, true},
		{"unsatisfiable", "GET", "/a/plain", "bytes=2000000-", 416, nil, -2, false, false},
		{"head", "HEAD", "/a/plain", "", 200, []byte{}, assetSize, true, true},
		{"norange ignores Range", "GET", "/a/norange", "bytes=10-19", 200, whole, assetSize, false, true},
		{"norange head", "HEAD", "/a/norange", "", 200, []byte{}, assetSize, false, true},
		{"nohead", "HEAD", "/a/nohead", "", 405, nil, -2, false, false},
		{"nohead get", "GET", "/a/nohead", "bytes=0-0", 206, whole[:1], 1, true, true},
		{"nolength", "GET", "/a/nolength", "bytes=10-19", 200, whole, -1, false, true},
		{"nolength small", "GET", "/a/small", "", 200, RampBytes(1, 0, 100), -1, false, true},
		{"nolength head", "HEAD", "/a/nolength", "", 200, []byte{}, -1, false, true},
		{"noetag", "GET", "/a/noetag", "bytes=0-3", 206, whole[:4], 4, true, false},
		{"content", "GET", "/a/content", "bytes=7-", 206, []byte("world"), 5, true, true},
		{"post", "POST", "/a/plain", "", 405, nil, -2, false, false},
		{"unknown", "GET", "/a/none", "", 404, nil, -2, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, nil)
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body != nil && !bytes.Equal(body, tt.body) {
				t.Errorf("body of %d bytes differs from the %d wanted", len(body), len(tt.body))
			}
			if tt.length != -2 && resp.ContentLength != tt.length {
				t.Errorf("ContentLength %d, want %d", resp.ContentLength, tt.length)
			}
			if got := resp.Header.Get("Accept-Ranges") == "bytes"; got != tt.ranges {
				t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
			}
			if got := resp.Header.Get("ETag") != ""; got != tt.etag {
				t.Errorf("ETag %q", resp.Header.Get("ETag"))
			}
			if tt.length == -1 && tt.method == "GET" && (len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked") {
				t.Errorf("Transfer-Encoding %v, want chunked", resp.TransferEncoding)
			}
			if tt.status < 300 && resp.Header.Get("Last-Modified") != baseModTime.Format(http.TimeFormat) {
				t.Errorf("Last-Modified %q", resp.Header.Get("Last-Modified"))
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	s := assetServer(t)
	c := newClient(t)
	_, hdr, _ := do(t, c, "HEAD", s.URL+"/a/content", nil, nil)
	etag := hdr.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || etag != s.AssetETag("/a/content") {
		t.Fatalf("ETag %q, AssetETag %q", etag, s.AssetETag("/a/content"))
	}
	mod := hdr.Get("Last-Modified")
	tests := []struct {
		name   string
		path   string
		hdr    map[string]string
		status int
	}{
		{"if-match ok", "/a/content", map[string]string{"If-Match": etag, "Range": "bytes=0-1"}, 206},
		{"if-match list", "/a/content", map[string]string{"If-Match": `"x", ` + etag}, 200},
		{"if-match star", "/a/content", map[string]string{"If-Match": "*"}, 200},
		{"if-match wrong", "/a/content", map[string]string{"If-Match": `"nope"`, "Range": "bytes=0-1"}, 412},
		{"if-match weak", "/a/content", map[string]string{"If-Match": "W/" + etag}, 412},
		{"if-match norange", "/a/norange", map[string]string{"If-Match": `"nope"`}, 412},
		{"if-match nolength", "/a/nolength", map[string]string{"If-Match": `"nope"`}, 412},
		{"if-match noetag", "/a/noetag", map[string]string{"If-Match": `"nope"`}, 412},
		{"if-range ok", "/a/content", map[string]string{"If-Range": etag, "Range": "bytes=0-1"}, 206},
		{"if-range stale", "/a/content", map[string]string{"If-Range": `"old"`, "Range": "bytes=0-1"}, 200},
		{"if-none-match", "/a/content", map[string]string{"If-None-Match": etag}, 304},
	}
	for _, tt := range tests {
		if code, _, b := do(t, c, "GET", s.URL+tt.path, nil, tt.hdr); code != tt.status {
			t.Errorf("%s: status %d, want %d: %q", tt.name, code, tt.status, b)
		}
	}

	// A new version: new ETag, later Last-Modified, the old ETag no longer matches.
	s.SetAssetContent("/a/content", []byte("hello, world"))
	code, hdr2, b := do(t, c, "GET", s.URL+"/a/content", nil, map[string]string{"If-Match": etag})
	if code != 412 {
		t.Errorf("old ETag after SetAssetContent: %d %q", code, b)
	}
	_, hdr2, b = do(t, c, "GET", s.URL+"/a/content", nil, nil)
	if hdr2.Get("ETag") == etag || hdr2.Get("ETag") == "" || string(b) != "hello, world" {
		t.Errorf("after SetAssetContent: ETag %q (was %q), body %q", hdr2.Get("ETag"), etag, b)
	}
	t1, _ := http.ParseTime(mod)
	t2, _ := http.ParseTime(hdr2.Get("Last-Modified"))
	if !t2.After(t1) {
		t.Errorf("Last-Modified %v not after %v", t2, t1)
	}
	s.SetAssetContent("/a/content", []byte("new"))
	if _, _, b := do(t, c, "GET", s.URL+"/a/content", nil, nil); string(b) != "new" {
		t.Errorf("body %q, want new", b)
	}
	s.SetAssetContent("/fresh", []byte("fresh"))
	if code, _, b := do(t, c, "GET", s.URL+"/fresh", nil, map[string]string{"Range": "bytes=1-2"}); code != 206 || string(b) != "re" {
		t.Errorf("new path: %d %q", code, b)
	}
}

func TestCountersAndLog(t *testing.T) {
	s := assetServer(t)
	c := newClient(t)
	do(t, c, "GET", s.URL+"/a/plain", nil, map[string]string{"Range": "bytes=0-999", "Authorization": "Bearer t0k"})
	do(t, c, "GET", s.URL+"/a/plain", nil, map[string]string{"Range": "bytes=1000-1499"})
	do(t, c, "HEAD", s.URL+"/a/plain", nil, nil)
	do(t, c, "GET", s.URL+"/a/nolength", nil, nil)
	do(t, c, "POST", s.STACURL+"search?x=1", []byte(`{"limit":1}`), nil)
	if n := s.Count("/a/"); n != 4 {
		t.Errorf("Count(/a/) = %d, want 4", n)
	}
	if n := s.Count("/a/plain"); n != 3 {
		t.Errorf("Count(/a/plain) = %d, want 3", n)
	}
	if n := s.BytesServed("/a/plain"); n != 1500 {
		t.Errorf("BytesServed(/a/plain) = %d, want 1500", n)
	}
	if n := s.BytesServed("/a/nolength"); n != assetSize {
		t.Errorf("BytesServed(/a/nolength) = %d, want %d", n, assetSize)
	}
	reqs := s.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests logged", len(reqs))
	}
	r0 := reqs[0]
	if r0.Method != "GET" || r0.Path != "/a/plain" || r0.Range != "bytes=0-999" || r0.Status != 206 ||
		r0.Bytes != 1000 || r0.Header.Get("Authorization") != "Bearer t0k" {
		t.Errorf("first request %+v", r0)
	}
	if reqs[2].Method != "HEAD" || reqs[2].Bytes != 0 || reqs[2].Status != 200 {
		t.Errorf("HEAD request %+v", reqs[2])
	}
	if r := reqs[4]; r.Method != "POST" || r.RawQuery != "x=1" || string(r.Body) != `{"limit":1}` || r.Status != 200 {
		t.Errorf("POST request %+v", r)
	}
	reqs[0].Header.Set("Authorization", "changed")
	if s.Requests()[0].Header.Get("Authorization") != "Bearer t0k" {
		t.Error("Requests does not copy")
	}
	s.Reset()
	if len(s.Requests()) != 0 || s.Count("") != 0 || s.BytesServed("") != 0 {
		t.Error("Reset did not clear the log")
	}
}

func TestFaults(t *testing.T) {
	s := assetServer(t)
	whole := RampBytes(7, 0, assetSize)
	s.SetFault(func(r *http.Request) *Fault {
		switch r.URL.Query().Get("fault") {
		case "503":
			return &Fault{Status: 503, RetryAfter: "2"}
		case "reset":
			return &Fault{Reset: true}
		case "short":
			return &Fault{ShortBody: true}
		case "stall":
			return &Fault{Stall: 300 * time.Millisecond}
		case "stallshort":
			return &Fault{Stall: time.Millisecond, ShortBody: true}
		}
		return nil
	})
	c := newClient(t)
	get := func(url string, rng string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	t.Run("status", func(t *testing.T) {
		resp, b, err := get(s.URL+"/a/plain?fault=503", "")
		if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !bytes.Contains(b, []byte("InjectedFault")) {
			t.Fatalf("got %v %v %s", resp, err, b)
		}
	})
	t.Run("reset", func(t *testing.T) {
		before := s.Count("/a/plain")
		if _, _, err := get(s.URL+"/a/plain?fault=reset", ""); err == nil {
			t.Fatal("no error on a reset connection")
		}
		if s.Count("/a/plain") <= before {
			t.Error("reset request not logged")
		}
	})
	for _, tt := range []struct {
		name, path, rng string
		want            []byte
	}{
		{"short whole", "/a/plain?fault=short", "", whole[:assetSize/2]},
		{"short range", "/a/plain?fault=short", "bytes=100-1099", whole[100:600]},
		{"short norange", "/a/norange?fault=stallshort", "", whole[:assetSize/2]},
		{"short nolength", "/a/nolength?fault=short", "", nil},
		{"short json", "/stac/collections?fault=short", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			resp, b, err := get(s.URL+tt.path, tt.rng)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want unexpected EOF", err)
			}
			if tt.want != nil && !bytes.Equal(b, tt.want) {
				t.Errorf("got %d bytes, want %d", len(b), len(tt.want))
			}
			if tt.want != nil && resp.ContentLength != int64(2*len(tt.want)) {
				t.Errorf("Content-Length %d", resp.ContentLength)
			}
			if served := s.BytesServed(""); served != int64(len(b)) {
				t.Errorf("BytesServed %d, client got %d", served, len(b))
			}
		})
	}
	t.Run("stall", func(t *testing.T) {
		start := time.Now()
		resp, b, err := get(s.URL+"/a/content?fault=stall", "")
		if err != nil || resp.StatusCode != 200 || string(b) != "hello, world" {
			t.Fatalf("got %v %v %q", resp, err, b)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("answered after %v, want a stall of 300ms", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/a/content?fault=stall", nil)
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
	})
	s.SetFault(nil)
	if resp, _, err := get(s.URL+"/a/plain?fault=503", "bytes=0-0"); err != nil || resp.StatusCode != 206 {
		t.Errorf("after SetFault(nil): %v %v", resp, err)
	}
}

func TestHandleExtraRoute(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.Handle("POST /token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"a","expires_in":`+strconv.Itoa(300)+`}`)
	}))
	c := newClient(t)
	code, _, b := do(t, c, "POST", s.URL+"/token", []byte("grant_type=password"), nil)
	if code != 200 || !strings.Contains(string(b), "access_token") {
		t.Fatalf("token: %d %s", code, b)
	}
	if r := s.Requests()[0]; r.Path != "/token" || string(r.Body) != "grant_type=password" || r.Bytes != int64(len(b)) {
		t.Errorf("logged %+v", r)
	}
	if code, _, _ := do(t, c, "GET", s.URL+"/elsewhere", nil, nil); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}
