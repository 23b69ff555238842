package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	esFilterNext1 = "2025-07-31T13:03:25.899000Z,S2B_T24MVV_20250731T130245_L2A,sentinel-2-c1-l2a"
	esFilterNext2 = "2025-07-31T13:03:19.635000Z,S2B_24MUA_20250731_0_L2A,sentinel-2-l2a"
	pcBody        = `{"bbox":[-73.21,43.99,-73.12,44.05],"collections":["naip"],"limit":10`
	postOnly      = `{"id":"t","links":[{"rel":"search","href":"./search","method":"POST"}]}`
	getOnly       = `{"id":"t","links":[{"rel":"search","href":"search","method":"GET"}]}`
)

func TestSearchDialects(t *testing.T) {
	terrascopeItem := string(fixture(t, "terrascope_item_s2_toc_v210_testresource.json"))
	tests := []struct {
		name        string
		path        string // catalog path on the test server
		q           Search
		steps       []step // including the landing page
		wantIDs     int
		wantMatched int64 // on the first page
		wantPages   int   // calls of fn
	}{{
		name: "earth search POST next merge:false body {next} until empty page",
		path: "/v1",
		q: Search{Limit: 10, Extra: map[string]any{
			"filter":      map[string]any{"op": "lte", "args": []any{map[string]any{"property": "eo:cloud_cover"}, 40}},
			"filter-lang": "cql2-json",
		}},
		steps: []step{
			{req: "GET /v1", resp: "earthsearch_v1_landing_response.json"},
			{req: `POST /v1/search {"filter":{"op":"lte","args":[{"property":"eo:cloud_cover"},40]},"filter-lang":"cql2-json","limit":10}`,
				resp: "earthsearch_v1_search_post_filter_page1_response.json"},
			{req: `POST /v1/search {"next":"` + esFilterNext1 + `"}`, resp: "earthsearch_v1_search_post_filter_page2_response.json"},
			{req: `POST /v1/search {"next":"` + esFilterNext2 + `"}`, resp: "earthsearch_v1_search_multi_collection_page2_empty_response.json"},
		},
		wantIDs: 20, wantMatched: 115912757, wantPages: 2,
	}, {
		name: "earth search next link leads to an empty last page",
		path: "/v1/",
		q: Search{
			Collections: []string{"sentinel-2-l2a", "landsat-c2-l2"},
			Datetime:    "2023-10-08T00:00:00Z/2023-10-08T23:59:59Z",
			Extra:       map[string]any{"intersects": map[string]any{"type": "Point", "coordinates": []float64{-105.1019, 40.1672}}},
		},
		steps: []step{
			{req: "GET /v1/", resp: "earthsearch_v1_landing_response.json"},
			{req: `POST /v1/search {"collections":["sentinel-2-l2a","landsat-c2-l2"],"datetime":"2023-10-08T00:00:00Z/2023-10-08T23:59:59Z","intersects":{"type":"Point","coordinates":[-105.1019,40.1672]}}`,
				resp: "earthsearch_v1_search_multi_collection_page1_response.json"},
			{req: `POST /v1/search {"collections":["sentinel-2-l2a","landsat-c2-l2"],"datetime":"2023-10-08T00:00:00Z/2023-10-08T23:59:59Z","intersects":{"type":"Point","coordinates":[-105.1019,40.1672]},"next":"2023-10-08T17:37:26.656958Z,LC08_L2SP_033032_20231008_02_T1,landsat-c2-l2"}`,
				resp: "earthsearch_v1_search_multi_collection_page2_empty_response.json"},
		},
		wantIDs: 2, wantMatched: 2, wantPages: 1,
	}, {
		name: "planetary computer POST next repeats whole body plus token",
		path: "/api/stac/v1",
		q:    Search{Collections: []string{"naip"}, Bbox: []float64{-73.21, 43.99, -73.12, 44.05}, Limit: 10},
		steps: []step{
			{req: "GET /api/stac/v1", resp: postOnly},
			{req: "POST /api/stac/v1/search " + pcBody + "}", resp: "planetarycomputer_search_post_page1_response.json"},
			{req: "POST /api/stac/v1/search " + pcBody + `,"token":"next:naip:vt_m_4307307_nw_18_060_20211029"}`,
				resp: "planetarycomputer_search_post_page2_response.json"},
			{req: "POST /api/stac/v1/search " + pcBody + `,"token":"next:naip:vt_m_4307307_ne_18_h_20160805"}`,
				resp: fc(nil)},
		},
		wantIDs: 20, wantMatched: -1, wantPages: 2,
	}, {
		name: "planetary computer GET next ?token=next:..., duplicates dropped",
		path: "/api/stac/v1/",
		q:    Search{Collections: []string{"landsat-c2-l2"}, Limit: 10},
		steps: []step{
			{req: "GET /api/stac/v1/", resp: "planetarycomputer_landing_response.json"},
			{req: "GET /api/stac/v1/search?collections=landsat-c2-l2&limit=10", resp: "planetarycomputer_items_get_with_next_response.json"},
			{req: "GET /api/stac/v1/collections/landsat-c2-l2/items?collections=landsat-c2-l2&token=next:landsat-c2-l2:LC09_L2SR_084056_20250722_02_T1",
				resp: fc([]string{feature("LC09_L2SR_084056_20250722_02_T1", "landsat-c2-l2"), feature("new", "landsat-c2-l2")})},
		},
		wantIDs: 11, wantMatched: -1, wantPages: 2,
	}, {
		name: "eoapi POST next body {token} sent as given",
		path: "/",
		steps: []step{
			{req: "GET /", resp: postOnly},
			{req: "POST /search {}", resp: "eoapi_search_post_numbermatched_response.json"},
			{req: `POST /search {"token":"next:WildFires-LosAngeles-Jan-2025:11_031311102221_103001010C12B000"}`, resp: fc(nil)},
		},
		wantIDs: 10, wantMatched: 144775, wantPages: 1,
	}, {
		name: "terrascope token paging, full page then empty page with a next link",
		path: "/",
		q:    Search{Collections: []string{"terrascope_s2_toc_v2"}, Limit: 1},
		steps: []step{
			{req: "GET /", resp: `{"id":"terrascope","links":[{"rel":"search","href":"https://stac.terrascope.be/search","method":"GET"},{"rel":"search","href":"https://stac.terrascope.be/search","method":"POST"}]}`},
			{req: "GET /search?collections=terrascope_s2_toc_v2&limit=1",
				resp: fc([]string{terrascopeItem}, `{"rel":"next","href":"https://stac.terrascope.be/search?collections=terrascope_s2_toc_v2&limit=1&token=abc"}`)},
			{req: "GET /search?collections=terrascope_s2_toc_v2&limit=1&token=abc",
				resp: fc(nil, `{"rel":"next","href":"https://stac.terrascope.be/search?collections=terrascope_s2_toc_v2&limit=1&token=def"}`)},
		},
		wantIDs: 1, wantMatched: -1, wantPages: 1,
	}, {
		name: "CMR relative GET next with cursor",
		path: "/stac/cmr",
		q:    Search{Collections: []string{"c"}, Datetime: "2024-01-01T00:00:00Z/..", Bbox: []float64{1, 2.5, 3, 4}, IDs: []string{"a", "b"}},
		steps: []step{
			{req: "GET /stac/cmr", resp: getOnly},
			{req: "GET /stac/cmr/search?bbox=1,2.5,3,4&collections=c&datetime=2024-01-01T00:00:00Z/..&ids=a,b",
				resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search?cursor=xyz","method":"GET"}`)},
			{req: "GET /stac/cmr/search?cursor=xyz", resp: fc([]string{feature("b", "c")})},
		},
		wantIDs: 2, wantMatched: -1, wantPages: 2,
	}, {
		name: "POST merge:true merges body and headers into the previous request",
		path: "/",
		q:    Search{Collections: []string{"c"}, Limit: 1},
		steps: []step{
			{req: "GET /", resp: postOnly},
			{req: `POST /search {"collections":["c"],"limit":1}`,
				resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search","method":"POST","merge":true,"body":{"token":"t2"},"headers":{"X-Cursor":"2"}}`)},
			{req: `POST /search {"collections":["c"],"limit":1,"token":"t2"}`, header: map[string]string{"X-Cursor": "2"},
				resp: fc([]string{feature("b", "c")}, `{"rel":"next","href":"search","method":"POST","merge":true,"body":{"limit":5,"token":"t3"}}`)},
			{req: `POST /search {"collections":["c"],"limit":5,"token":"t3"}`, header: map[string]string{"X-Cursor": "2"},
				resp: fc(nil)},
		},
		wantIDs: 2, wantMatched: -1, wantPages: 2,
	}, {
		name: "POST merge:false without merge sends only the link body",
		path: "/",
		q:    Search{Collections: []string{"c"}, Limit: 1},
		steps: []step{
			{req: "GET /", resp: postOnly},
			{req: `POST /search {"collections":["c"],"limit":1}`,
				resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search","method":"POST","merge":false,"body":{"token":"t2"}}`)},
			{req: `POST /search {"token":"t2"}`, resp: fc(nil)},
		},
		wantIDs: 1, wantMatched: -1, wantPages: 1,
	}, {
		name: "loop detection: a repeated next link ends paging",
		path: "/",
		q:    Search{Collections: []string{"c"}},
		steps: []step{
			{req: "GET /", resp: getOnly},
			{req: "GET /search?collections=c", resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search?page=2"}`)},
			{req: "GET /search?page=2", resp: fc([]string{feature("b", "c")}, `{"rel":"next","href":"search?page=2"}`)},
		},
		wantIDs: 2, wantMatched: -1, wantPages: 2,
	}, {
		name: "a page of only known items ends paging",
		path: "/",
		q:    Search{Collections: []string{"c"}},
		steps: []step{
			{req: "GET /", resp: getOnly},
			{req: "GET /search?collections=c", resp: fc([]string{feature("a", "c"), feature("b", "c")}, `{"rel":"next","href":"search?page=2"}`)},
			{req: "GET /search?page=2", resp: fc([]string{feature("b", "c"), feature("a", "c")}, `{"rel":"next","href":"search?page=3"}`)},
			// From the second page on the next page is asked while the page is read;
			// a page that brought nothing new cancels that request.
			{req: "GET /search?page=3", resp: fc([]string{feature("c", "c")}), ahead: true},
		},
		wantIDs: 2, wantMatched: -1, wantPages: 1,
	}, {
		name: "same id in two collections is two items; context.matched read",
		path: "/",
		steps: []step{
			{req: "GET /", resp: getOnly},
			{req: "GET /search", resp: `{"type":"FeatureCollection","context":{"matched":2},"features":[` + feature("a", "c1") + "," + feature("a", "c2") + `],"links":[]}`},
		},
		wantIDs: 2, wantMatched: 2, wantPages: 1,
	}, {
		name: "empty first page is still reported",
		path: "/",
		steps: []step{
			{req: "GET /", resp: getOnly},
			{req: "GET /search", resp: `{"type":"FeatureCollection","numberMatched":0,"features":[],"links":[{"rel":"next","href":"search?x=1"}]}`},
		},
		wantIDs: 0, wantMatched: 0, wantPages: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, served := stepServer(t, tt.steps)
			cat := &Catalog{Client: &Client{}, URL: base + tt.path}
			ids := map[string]bool{}
			var n, pages int
			matched := int64(-2)
			err := cat.Search(context.Background(), tt.q, func(p *Page) bool {
				if pages == 0 {
					matched = p.NumberMatched
				}
				pages++
				for _, it := range p.Items {
					k := it.Collection + "/" + it.ID
					if ids[k] {
						t.Errorf("item %s reported twice", k)
					}
					ids[k] = true
					n++
					if !json.Valid(it.Raw) {
						t.Errorf("item %s: Raw is not JSON", k)
					}
				}
				return true
			})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if n != tt.wantIDs {
				t.Errorf("items = %d, want %d", n, tt.wantIDs)
			}
			if matched != tt.wantMatched {
				t.Errorf("NumberMatched = %d, want %d", matched, tt.wantMatched)
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			if got := served(); !servedAll(tt.steps, got) {
				t.Errorf("served %d requests, want %d (the ahead ones optional)", got, len(tt.steps))
			}
		})
	}
}

func TestSearchRawIsFeatureBytes(t *testing.T) {
	base, _ := stepServer(t, []step{
		{req: "GET /api/stac/v1", resp: postOnly},
		{req: "POST /api/stac/v1/search {}", resp: "planetarycomputer_search_post_page1_response.json"},
		{req: `POST /api/stac/v1/search ` + pcBody + `,"token":"next:naip:vt_m_4307307_nw_18_060_20211029"}`, resp: fc(nil)},
	})
	page := rewriteHosts(fixture(t, "planetarycomputer_search_post_page1_response.json"), base)
	var doc struct {
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(page, &doc); err != nil {
		t.Fatal(err)
	}
	cat := &Catalog{URL: base + "/api/stac/v1"}
	i := 0
	err := cat.Search(context.Background(), Search{}, func(p *Page) bool {
		for _, it := range p.Items {
			if !bytes.Equal(it.Raw, doc.Features[i]) {
				t.Errorf("item %d Raw differs from the feature's bytes", i)
			}
			if !bytes.Contains(page, it.Raw) {
				t.Errorf("item %d Raw is not a slice of the page", i)
			}
			i++
		}
		return true
	})
	if err != nil || i != 10 {
		t.Fatalf("Search: %d items, %v", i, err)
	}
}

func TestSearchStopsWhenFnReturnsFalse(t *testing.T) {
	base, served := stepServer(t, []step{
		{req: "GET /", resp: getOnly},
		{req: "GET /search", resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search?page=2"}`)},
	})
	cat := &Catalog{URL: base}
	calls := 0
	err := cat.Search(context.Background(), Search{}, func(*Page) bool { calls++; return false })
	if err != nil || calls != 1 || served() != 2 {
		t.Fatalf("err %v, calls %d, served %d", err, calls, served())
	}
}

func TestSearchMaxPages(t *testing.T) {
	old := maxPages
	maxPages = 3
	t.Cleanup(func() { maxPages = old })
	steps := []step{
		{req: "GET /", resp: getOnly},
		{req: "GET /search", resp: fc([]string{feature("p1", "c")}, `{"rel":"next","href":"search?page=2"}`)},
		{req: "GET /search?page=2", resp: fc([]string{feature("p2", "c")}, `{"rel":"next","href":"search?page=3"}`)},
		{req: "GET /search?page=3", resp: fc([]string{feature("p3", "c")}, `{"rel":"next","href":"search?page=4"}`)},
	}
	base, served := stepServer(t, steps)
	n := 0
	err := (&Catalog{URL: base}).Search(context.Background(), Search{}, func(p *Page) bool { n += len(p.Items); return true })
	if err != nil || n != 3 || served() != 4 {
		t.Fatalf("err %v, items %d, served %d", err, n, served())
	}
}

func TestSearchErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  error
	}{
		{"malformed page", []step{{req: "GET /", resp: getOnly}, {req: "GET /search", resp: `{"features":[`}}, ErrBadResponse},
		{"feature without id", []step{{req: "GET /", resp: getOnly}, {req: "GET /search", resp: fc([]string{`{"type":"Feature"}`})}}, ErrBadResponse},
		{"search denied", []step{{req: "GET /", resp: getOnly}, {req: "GET /search", resp: `{"code":"x"}`, code: 401}}, ErrDenied},
		{"landing missing", []step{{req: "GET /", resp: `{}`, code: 404}}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, _ := stepServer(t, tt.steps)
			err := (&Catalog{URL: base}).Search(context.Background(), Search{}, func(*Page) bool { return true })
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCollectionsPaging(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step
		want    int
		wantHas string
	}{{
		name: "FedEO/Spacebel startRecord GET paging",
		steps: []step{
			{req: "GET /", resp: `{"id":"fedeo","links":[]}`},
			{req: "GET /collections", resp: "spacebel_collections_startrecord_page1_response.json"},
			{req: "GET /collections?limit=10&q=sentinel&startRecord=11", resp: "spacebel_collections_startrecord_page2_response.json"},
			{req: "GET /collections?limit=10&q=sentinel&startRecord=21", resp: `{"collections":[],"links":[]}`},
		},
		want: 20, wantHas: "EOP:ESA:Sentinel-6",
	}, {
		name: "earth search single page",
		steps: []step{
			{req: "GET /v1", resp: "earthsearch_v1_landing_response.json"},
			{req: "GET /v1/collections", resp: "earthsearch_v1_collections_response.json"},
		},
		want: 9, wantHas: "sentinel-2-c1-l2a",
	}, {
		name: "duplicates dropped and POST next followed",
		steps: []step{
			{req: "GET /", resp: `{"id":"x","links":[{"rel":"data","href":"/cols"}]}`},
			{req: "GET /cols", resp: `{"collections":[{"id":"a"},{"id":"b"}],"links":[{"rel":"next","href":"/cols","method":"POST","body":{"page":2}}]}`},
			{req: `POST /cols {"page":2}`, resp: `{"collections":[{"id":"b"},{"id":"c"}],"links":[{"rel":"next","href":"/cols","method":"POST","body":{"page":2}}]}`},
		},
		want: 3, wantHas: "c",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, served := stepServer(t, tt.steps)
			path, _, _ := strings.Cut(strings.TrimPrefix(tt.steps[0].req, "GET "), " ")
			cols, err := (&Catalog{URL: base + path}).Collections(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(cols) != tt.want {
				t.Errorf("got %d collections, want %d", len(cols), tt.want)
			}
			found := false
			for _, c := range cols {
				found = found || c.ID == tt.wantHas
				if !json.Valid(c.Raw) {
					t.Errorf("collection %s: Raw not JSON", c.ID)
				}
			}
			if !found {
				t.Errorf("collection %q missing", tt.wantHas)
			}
			if served() != len(tt.steps) {
				t.Errorf("served %d, want %d", served(), len(tt.steps))
			}
		})
	}
}

// TestSearchRefusedLimit: a server that refuses a large limit (400) is
// asked again with limit=100, and the listing goes on in full.
func TestSearchRefusedLimit(t *testing.T) {
	base, served := stepServer(t, []step{
		{req: "GET /", resp: getOnly},
		{req: "GET /search?limit=1000", resp: `{"code":"BadRequest","description":"limit must be <= 250"}`, code: 400},
		{req: "GET /search?limit=100", resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search?page=2"}`)},
		{req: "GET /search?page=2", resp: fc([]string{feature("b", "c")})},
	})
	var ids []string
	err := (&Catalog{URL: base}).Search(context.Background(), Search{Limit: 1000}, func(p *Page) bool {
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		return true
	})
	if err != nil || strings.Join(ids, ",") != "a,b" || served() != 4 {
		t.Fatalf("err %v, ids %v, served %d", err, ids, served())
	}
}

// TestSearchEagerPages: a listing of large pages asks for the next page
// before the current one is handed over (fn sees page 1 while page 2 is
// already requested), and gets every page once, in order.
func TestSearchEagerPages(t *testing.T) {
	base, served := stepServer(t, []step{
		{req: "GET /", resp: getOnly},
		{req: "GET /search?limit=1000", resp: fc([]string{feature("a", "c")}, `{"rel":"next","href":"search?page=2"}`)},
		{req: "GET /search?page=2", resp: fc([]string{feature("b", "c")}, `{"rel":"next","href":"search?page=3"}`)},
		{req: "GET /search?page=3", resp: fc([]string{feature("c", "c")})},
	})
	var ids []string
	sawNext := false
	err := (&Catalog{URL: base}).Search(context.Background(), Search{Limit: 1000}, func(p *Page) bool {
		if p.Items[0].ID == "a" {
			for deadline := time.Now().Add(5 * time.Second); served() < 3 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			sawNext = served() >= 3
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		return true
	})
	if err != nil || strings.Join(ids, ",") != "a,b,c" || served() != 4 || !sawNext {
		t.Fatalf("err %v, ids %v, served %d, page 2 asked while page 1 parsed: %v", err, ids, served(), sawNext)
	}
}
