package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLanding(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		landing    string
		wantSearch string // relative to the server URL
		wantData   string
		get, post  bool
		conforms   string
	}{
		{"earth search fixture", "/v1", "earthsearch_v1_landing_response.json", "/v1/search", "/v1/collections", true, true, "item-search"},
		{"planetary computer fixture", "/api/stac/v1/", "planetarycomputer_landing_response.json", "/api/stac/v1/search", "/api/stac/v1/collections", true, true, "item-search"},
		{"no links, no slash", "/stac", `{"id":"x"}`, "/stac/search", "/stac/collections", false, false, ""},
		{"no links, slash", "/stac/", `{"id":"x"}`, "/stac/search", "/stac/collections", false, false, ""},
		{"relative links, no slash", "/stac", `{"id":"x","links":[{"rel":"search","href":"./find","method":"POST"},{"rel":"data","href":"cols"}]}`,
			"/stac/find", "/stac/cols", false, true, ""},
		{"relative links, slash", "/stac/", `{"id":"x","links":[{"rel":"search","href":"./find","method":"POST"},{"rel":"data","href":"cols"}]}`,
			"/stac/find", "/stac/cols", false, true, ""},
		{"search link without method is GET", "/", `{"id":"x","conformsTo":["https://api.stacspec.org/v1.0.0/core"],"links":[{"rel":"search","href":"/s"}]}`,
			"/s", "/collections", true, false, "v1.0.0/core"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.URL.Path != tt.path {
					t.Errorf("landing fetched at %s, want %s", r.URL.Path, tt.path)
				}
				_, _ = w.Write(rewriteHosts(fixture(t, tt.landing), srv.URL))
			}))
			defer srv.Close()
			cat := &Catalog{URL: srv.URL + tt.path}
			l, err := cat.Landing(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if l.SearchURL != srv.URL+tt.wantSearch {
				t.Errorf("SearchURL = %s, want %s", l.SearchURL, srv.URL+tt.wantSearch)
			}
			if l.DataURL != srv.URL+tt.wantData {
				t.Errorf("DataURL = %s, want %s", l.DataURL, srv.URL+tt.wantData)
			}
			if l.SearchGET != tt.get || l.SearchPOST != tt.post {
				t.Errorf("SearchGET, SearchPOST = %v, %v, want %v, %v", l.SearchGET, l.SearchPOST, tt.get, tt.post)
			}
			if tt.conforms != "" && !l.Conforms(tt.conforms) {
				t.Errorf("Conforms(%q) = false", tt.conforms)
			}
			if l.Conforms("no-such-class") {
				t.Error("Conforms(no-such-class) = true")
			}
			if _, err := cat.Landing(context.Background()); err != nil {
				t.Fatal(err)
			}
			if hits.Load() != 1 {
				t.Errorf("landing fetched %d times, want 1", hits.Load())
			}
		})
	}
}

func TestLandingFailureNotMemoised(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	cat := &Catalog{Client: &Client{RetryBudget: -1}, URL: srv.URL} // no retries
	if _, err := cat.Landing(context.Background()); err == nil {
		t.Fatal("first Landing succeeded")
	}
	if _, err := cat.Landing(context.Background()); err != nil {
		t.Fatalf("second Landing: %v", err)
	}
}

func TestCollectionAndItem(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := ""
		switch r.URL.EscapedPath() {
		case "/api/stac/v1/":
			file = "planetarycomputer_landing_response.json"
		case "/api/stac/v1/collections/landsat-c2-l2":
			file = "planetarycomputer_collection_landsat-c2-l2_response.json"
		case "/api/stac/v1/collections/aster-l1t/items/AST_L1T_00312272006020322_20150518201805":
			file = "planetarycomputer_item_get_response.json"
		case "/api/stac/v1/collections/EOP:ESA:Sentinel-2/items/a%20b%2Fc%3F":
			_, _ = w.Write([]byte(`{"type":"Feature","id":"a b/c?","properties":{"datetime":null,"start_datetime":"2020-01-01T00:00:00+02:00"}}`))
			return
		case "/api/stac/v1/collections/aster-l1t/items/for-sure-not-a-real-id":
			w.WriteHeader(http.StatusNotFound)
			file = "planetarycomputer_item_not_found_404_response.json"
		default:
			w.WriteHeader(http.StatusNotFound)
			file = "earthsearch_v1_collection_not_found_404_response.json"
		}
		_, _ = w.Write(rewriteHosts(fixture(t, file), srv.URL))
	}))
	defer srv.Close()
	ctx := context.Background()
	cat := &Catalog{URL: srv.URL + "/api/stac/v1/"}

	col, err := cat.Collection(ctx, "landsat-c2-l2")
	if err != nil {
		t.Fatal(err)
	}
	if col.ID != "landsat-c2-l2" || col.Title == "" || !col.Start.Equal(time.Date(1982, 8, 22, 0, 0, 0, 0, time.UTC)) || !col.End.IsZero() {
		t.Errorf("collection = %q %q %v %v", col.ID, col.Title, col.Start, col.End)
	}
	if _, err := cat.Collection(ctx, "foo"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing collection: %v", err)
	}

	it, err := cat.Item(ctx, "aster-l1t", "AST_L1T_00312272006020322_20150518201805")
	if err != nil {
		t.Fatal(err)
	}
	if it.Collection != "aster-l1t" || !it.Time.Equal(time.Date(2006, 12, 27, 2, 3, 22, 718000000, time.UTC)) || len(it.Assets) == 0 {
		t.Errorf("item = %s %s %v %d assets", it.ID, it.Collection, it.Time, len(it.Assets))
	}
	if _, err := cat.Item(ctx, "aster-l1t", "for-sure-not-a-real-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing item: %v", err)
	}

	it, err = cat.Item(ctx, "EOP:ESA:Sentinel-2", "a b/c?")
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != "a b/c?" || it.Collection != "EOP:ESA:Sentinel-2" || !it.Time.Equal(time.Date(2019, 12, 31, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("escaped item = %q %q %v", it.ID, it.Collection, it.Time)
	}
}

func TestHeaders(t *testing.T) {
	obj := ramp(100, 0)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "stacfs-test/1" {
			t.Errorf("%s: User-Agent %q", r.URL.Path, ua)
		}
		stac := r.URL.Path != "/asset"
		if got := r.Header.Get("X-Signed-Asset-Urls"); (got == "True") != stac {
			t.Errorf("%s: X-Signed-Asset-Urls %q", r.URL.Path, got)
		}
		if got := r.Header.Get("Accept"); stac && got != "application/geo+json, application/json" {
			t.Errorf("%s: Accept %q", r.URL.Path, got)
		}
		switch r.URL.Path {
		case "/asset":
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(obj)))
		case "/search":
			_, _ = w.Write([]byte(fc(nil)))
		default:
			_, _ = w.Write([]byte(`{"id":"x"}`))
		}
	}))
	defer srv.Close()
	c := &Client{UserAgent: "stacfs-test/1", Header: http.Header{"X-Signed-Asset-Urls": {"True"}}}
	cat := &Catalog{Client: c, URL: srv.URL}
	if err := cat.Search(context.Background(), Search{}, func(*Page) bool { return true }); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if _, err := c.ReadAt(context.Background(), srv.URL+"/asset", p, 5, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(context.Background(), srv.URL+"/asset"); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultUserAgentAndHTTPClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "stacfs" {
			t.Errorf("User-Agent %q", ua)
		}
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	if _, err := (&Catalog{URL: srv.URL}).Landing(context.Background()); err != nil {
		t.Fatal(err)
	}
	hc := NewHTTPClient()
	tr := hc.Transport.(*http.Transport)
	if hc.Timeout != 0 || tr.MaxIdleConnsPerHost < 16 || tr.ResponseHeaderTimeout != 30*time.Second || !tr.ForceAttemptHTTP2 {
		t.Errorf("default client: timeout %v, idle/host %d, header timeout %v, h2 %v",
			hc.Timeout, tr.MaxIdleConnsPerHost, tr.ResponseHeaderTimeout, tr.ForceAttemptHTTP2)
	}
}

func TestBodyLimit(t *testing.T) {
	old := maxBody
	maxBody = 1000
	t.Cleanup(func() { maxBody = old })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"x","pad":"` + strings.Repeat("x", 2000) + `"}`))
	}))
	defer srv.Close()
	_, err := (&Catalog{URL: srv.URL}).Landing(context.Background())
	if !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}
