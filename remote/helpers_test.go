package remote

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fixtureHosts are the origins recorded in testdata; replayed pages point them at the
// test server instead.
var fixtureHosts = []string{
	"https://earth-search.aws.element84.com",
	"https://planetarycomputer.microsoft.com",
	"https://emc.spacebel.be",
	"https://stac.eoapi.dev",
	"https://stac.terrascope.be",
}

// fixture returns a testdata file, or s itself when s is inline JSON.
func fixture(t testing.TB, s string) []byte {
	t.Helper()
	if strings.HasPrefix(s, "{") {
		return []byte(s)
	}
	b, err := os.ReadFile(filepath.Join("testdata", s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewriteHosts points the fixture origins in b at base.
func rewriteHosts(b []byte, base string) []byte {
	for _, h := range fixtureHosts {
		b = bytes.ReplaceAll(b, []byte(h), []byte(base))
	}
	return b
}

// step is one expected request and the answer to it.
type step struct {
	req    string            // "GET /path?query" or "POST /path {json}"; compared canonically
	header map[string]string // headers the request must carry
	resp   string            // testdata file name or inline JSON
	code   int               // 0 -> 200
	// ahead marks a page a pipelined walk asks for before it knows it will read it, and
	// cancels once it does not: whether the request reaches the server is up to the
	// scheduler, so it may be served or not. Only last steps may be ahead.
	ahead bool
}

// servedAll reports whether got served requests are every step, up to the ahead ones.
func servedAll(steps []step, got int) bool {
	need := len(steps)
	for need > 0 && steps[need-1].ahead {
		need--
	}
	return got >= need && got <= len(steps)
}

// canonical normalises a step request or a received request: sorted query, JSON body
// re-encoded with sorted keys.
func canonical(t *testing.T, method, uri string, body []byte) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("parse %q: %v", uri, err)
	}
	s := method + " " + u.Path
	if u.RawQuery != "" {
		s += "?" + u.Query().Encode()
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("body of %s is not JSON: %v: %s", s, err, body)
		}
		b, _ := json.Marshal(v)
		s += " " + string(b)
	}
	return s
}

func canonicalStep(t *testing.T, req string) string {
	method, rest, _ := strings.Cut(req, " ")
	uri, body, _ := strings.Cut(rest, " ")
	return canonical(t, method, uri, []byte(body))
}

// stepServer serves steps in order, failing the test on any other request. It returns
// the server URL and a func reporting how many steps were served.
func stepServer(t *testing.T, steps []step) (string, func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := canonical(t, r.Method, r.URL.RequestURI(), body)
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(steps) {
			t.Errorf("unexpected request %d: %s", i, got)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		s := steps[i]
		if want := canonicalStep(t, s.req); got != want {
			t.Errorf("request %d:\n got %s\nwant %s", i, got, want)
		}
		for k, v := range s.header {
			if g := r.Header.Get(k); g != v {
				t.Errorf("request %d header %s = %q, want %q", i, k, g, v)
			}
		}
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d Content-Type %q", i, r.Header.Get("Content-Type"))
		}
		w.Header().Set("Content-Type", "application/geo+json")
		if s.code != 0 {
			w.WriteHeader(s.code)
		}
		_, _ = w.Write(rewriteHosts(fixture(t, s.resp), srv.URL))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// feature returns a minimal item as JSON.
func feature(id, collection string) string {
	return `{"type":"Feature","id":"` + id + `","collection":"` + collection +
		`","properties":{"datetime":"2024-01-02T03:04:05Z"},"assets":{}}`
}

// fc returns a FeatureCollection of the given features with the given links (JSON
// array elements), e.g. fc([]string{feature(..)}, `{"rel":"next","href":"..."}`).
func fc(features []string, links ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") +
		`],"links":[` + strings.Join(links, ",") + `]}`
}

// ramp returns n bytes of the pattern (seed+i)%251, so any range checks itself.
func ramp(n int, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((seed + i) % 251)
	}
	return b
}
