package fakestac

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// addDays adds n items to collection c, one per day from 2024-01-01 at 10:00, in reverse
// order so that sorting is exercised, and returns their ids in search order.
func addDays(s *Server, c string, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%s-item-%03d", c, i))
	}
	for i := n - 1; i >= 0; i-- {
		t := time.Date(2024, 1, 1+i, 10, 0, 0, 0, time.UTC)
		s.AddItem(Item{ID: ids[i], Collection: c, Datetime: &t, Bbox: []float64{0, 0, 1, 1}})
	}
	return ids
}

func TestSearchPagingWalksAllItems(t *testing.T) {
	styles := []Paging{PagingToken, PagingStartRecord, PagingPOSTBody, PagingPOSTMerge, PagingPOSTFull}
	for _, style := range styles {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, n := range []int{0, 3, 20, 23} {
				t.Run(fmt.Sprintf("%v/%s/%d", style, method, n), func(t *testing.T) {
					s := New(Options{Paging: style, NumberMatched: true, MaxLimit: 5})
					defer s.Close()
					want := addDays(s, "c1", n)
					addDays(s, "other", 7) // must never show up: the filter must survive paging
					c := newClient(t)
					var pages []*testPage
					if method == http.MethodGet {
						pages = walk(t, c, method, s.STACURL+"search?collections=c1&limit=50", nil)
					} else {
						pages = walk(t, c, method, s.STACURL+"search", map[string]json.RawMessage{
							"collections": rawJSON(t, []string{"c1"}),
							"limit":       rawJSON(t, 50),
						})
					}
					var got []string
					for _, p := range pages {
						got = append(got, p.ids()...)
						if len(p.Features) > 5 {
							t.Errorf("page of %d features, MaxLimit is 5", len(p.Features))
						}
						if p.NumberMatched == nil || *p.NumberMatched != n {
							t.Errorf("numberMatched = %v, want %d", p.NumberMatched, n)
						}
						if p.NumberReturned != len(p.Features) {
							t.Errorf("numberReturned = %d, features %d", p.NumberReturned, len(p.Features))
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("walked %v\nwant   %v", got, want)
					}
					wantPages := max(1, (n+4)/5)
					if style == PagingToken && n > 0 && n%5 == 0 {
						wantPages++ // a full last page still has a next link
					}
					if len(pages) != wantPages {
						t.Errorf("%d pages, want %d", len(pages), wantPages)
					}
					if last := pages[len(pages)-1]; style == PagingToken && n == 20 && len(last.Features) != 0 {
						t.Errorf("last page has %d features, want an empty page", len(last.Features))
					}
				})
			}
		}
	}
}

func TestSearchNextLinkShapes(t *testing.T) {
	f, tr := false, true
	tests := []struct {
		style     Paging
		method    string
		wantMeth  string
		wantKeys  []string // body keys of the next link
		wantMerge *bool
		wantParam string // query parameter of a GET link
	}{
		{PagingToken, http.MethodGet, "", nil, nil, "token"},
		{PagingToken, http.MethodPost, "POST", []string{"collections", "limit", "token"}, &f, ""},
		{PagingStartRecord, http.MethodGet, "", nil, nil, "startRecord"},
		{PagingStartRecord, http.MethodPost, "", nil, nil, "startRecord"},
		{PagingPOSTBody, http.MethodGet, "", nil, nil, "token"},
		{PagingPOSTBody, http.MethodPost, "POST", []string{"next"}, &f, ""},
		{PagingPOSTMerge, http.MethodPost, "POST", []string{"token"}, &tr, ""},
		{PagingPOSTFull, http.MethodPost, "POST", []string{"collections", "limit", "token"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s", tt.style, tt.method), func(t *testing.T) {
			s := New(Options{Paging: tt.style})
			defer s.Close()
			addDays(s, "c1", 5)
			c := newClient(t)
			var p *testPage
			if tt.method == http.MethodGet {
				p = getPage(t, c, "GET", s.STACURL+"search?collections=c1&limit=2", nil)
			} else {
				p = getPage(t, c, "POST", s.STACURL+"search", []byte(`{"collections":["c1"],"limit":2}`))
			}
			n := p.next()
			if n == nil {
				t.Fatal("no next link")
			}
			if n.Method != tt.wantMeth {
				t.Errorf("method %q, want %q", n.Method, tt.wantMeth)
			}
			var keys []string
			for k := range n.Body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("body keys %v, want %v", keys, tt.wantKeys)
			}
			if (n.Merge == nil) != (tt.wantMerge == nil) || (n.Merge != nil && *n.Merge != *tt.wantMerge) {
				t.Errorf("merge %v, want %v", n.Merge, tt.wantMerge)
			}
			u, err := url.Parse(n.Href)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantParam != "" {
				if u.Query().Get(tt.wantParam) == "" {
					t.Errorf("next href %s has no %s", n.Href, tt.wantParam)
				}
				if u.Query().Get("collections") != "c1" {
					t.Errorf("next href %s lost the query", n.Href)
				}
			}
			if tt.style == PagingStartRecord && u.Query().Get("startRecord") != "3" {
				t.Errorf("startRecord = %q, want 3", u.Query().Get("startRecord"))
			}
		})
	}
}

func TestCollectionsPaging(t *testing.T) {
	for _, style := range []Paging{PagingToken, PagingStartRecord, PagingPOSTFull} {
		for _, n := range []int{0, 7, 10, 23} {
			t.Run(fmt.Sprintf("%v/%d", style, n), func(t *testing.T) {
				s := New(Options{Paging: style, CollectionPage: 5, NumberMatched: true})
				defer s.Close()
				var want []string
				for i := range n {
					id := fmt.Sprintf("EOP:ESA:coll-%02d", i)
					want = append(want, id)
					s.AddCollection(Collection{ID: id, Title: "T"})
				}
				c := newClient(t)
				pages := walk(t, c, "GET", s.STACURL+"collections", nil)
				var got []string
				for _, p := range pages {
					got = append(got, p.ids()...)
					if n := p.next(); n != nil {
						param := "token="
						if style == PagingStartRecord {
							param = "startRecord="
						}
						if !strings.Contains(n.Href, param) || n.Method != "" {
							t.Errorf("next link %+v, want a GET link with %s", n, param)
						}
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("walked %v, want %v", got, want)
				}
			})
		}
	}
}

func TestItemsEndpoint(t *testing.T) {
	s := New(Options{DefaultLimit: 4})
	defer s.Close()
	const coll = "EOP:ESA:Sentinel-2"
	s.AddCollection(Collection{ID: coll})
	want := addDays(s, coll, 9)
	addDays(s, "other", 3)
	c := newClient(t)
	pages := walk(t, c, "GET", s.STACURL+"collections/"+url.PathEscape(coll)+"/items", nil)
	var got []string
	for _, p := range pages {
		got = append(got, p.ids()...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walked %v, want %v", got, want)
	}
	code, hdr, b := do(t, c, "GET", s.STACURL+"collections/"+coll+"/items/"+want[3], nil, nil)
	if code != 200 || hdr.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("item: %d %s", code, hdr.Get("Content-Type"))
	}
	var item map[string]any
	if err := json.Unmarshal(b, &item); err != nil {
		t.Fatal(err)
	}
	if item["id"] != want[3] || item["type"] != "Feature" || item["geometry"] == nil {
		t.Errorf("item %s", b)
	}
	for _, path := range []string{
		"collections/nope", "collections/nope/items", "collections/" + coll + "/items/nope", "nothing",
	} {
		code, hdr, b := do(t, c, "GET", s.STACURL+path, nil, nil)
		var e apiError
		if code != 404 || json.Unmarshal(b, &e) != nil || e.Code != "NotFound" || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s", path, code, b)
		}
	}
	code, _, b = do(t, c, "GET", s.STACURL+"collections/"+url.PathEscape(coll), nil, nil)
	var col collectionJSON
	if code != 200 || json.Unmarshal(b, &col) != nil || col.ID != coll {
		t.Fatalf("collection: %d %s", code, b)
	}
	if iv := col.Extent.Temporal.Interval; len(iv) != 1 || iv[0][0] != nil || iv[0][1] != nil {
		t.Errorf("interval %v, want [[null, null]]", iv)
	}
}

func TestSearchFilters(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	// a: an instant; b: a product spanning ten days; c: datetime null with a start; d: bbox
	// elsewhere.
	s.AddItem(Item{ID: "a", Collection: "x", Datetime: ptime("2024-01-05T10:00:00Z"), Bbox: []float64{0, 0, 1, 1}})
	s.AddItem(Item{ID: "b", Collection: "x", Datetime: ptime("2024-01-01T00:00:00Z"),
		Start: ptime("2024-01-01T00:00:00Z"), End: ptime("2024-01-10T00:00:00Z"), Bbox: []float64{0, 0, 1, 1}})
	s.AddItem(Item{ID: "c", Collection: "y", Start: ptime("2024-01-07T12:30:00.5Z"),
		End: ptime("2024-01-07T12:30:00.5Z"), Bbox: []float64{0.5, 0.5, 2, 2}})
	s.AddItem(Item{ID: "d", Collection: "y", Datetime: ptime("2024-01-05T11:00:00Z"), Bbox: []float64{10, 10, 11, 11}})
	c := newClient(t)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"b", "a", "d", "c"}},
		{"datetime=2024-01-05T00:00:00Z/2024-01-05T23:59:59Z", []string{"b", "a", "d"}},
		{"datetime=2024-01-05T10:00:00.000000Z", []string{"b", "a"}},
		{"datetime=2024-01-07T00:00:00Z/..", []string{"b", "c"}},
		{"datetime=2024-01-07T00:00:00Z/", []string{"b", "c"}},
		{"datetime=../2024-01-01T00:00:00Z", []string{"b"}},
		{"datetime=2024-01-11T00:00:00%2B01:00/..", nil},
		{"datetime=2024-01-10T00:30:00%2B01:00/..", []string{"b"}},
		{"collections=y", []string{"d", "c"}},
		{"collections=y,x&ids=c,a", []string{"a", "c"}},
		{"bbox=0.8,0.8,3,3", []string{"b", "a", "c"}},
		{"bbox=10.5,10.5,20,20&datetime=2024-01-05T11:00:00Z", []string{"d"}},
		{"ids=zzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := getPage(t, c, "GET", s.STACURL+"search?"+tt.query, nil)
			if got := p.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: %v, want %v", tt.query, got, tt.want)
			}
			// The same as a POST body.
			v, _ := url.ParseQuery(tt.query)
			q, err := parseGETSearch(v)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(q.q)
			p = getPage(t, c, "POST", s.STACURL+"search", body)
			if got := p.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("POST %s: %v, want %v", body, got, tt.want)
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	s := New(Options{SearchPOST: true})
	defer s.Close()
	c := newClient(t)
	tests := []struct {
		method, query, body string
		want                int
	}{
		{"POST", "", `{"datetime":"yesterday"}`, 400},
		{"POST", "", `{"datetime":"../.."}`, 400},
		{"POST", "", `{"datetime":"2024-02-01T00:00:00Z/2024-01-01T00:00:00Z"}`, 400},
		{"POST", "", `{"datetime":"2024-01-01"}`, 400},
		{"POST", "", `{"limit":0}`, 400},
		{"POST", "", `{"bbox":[1,2,3]}`, 400},
		{"POST", "", `{"token":"!!"}`, 400},
		{"POST", "", `{"collections":"x"}`, 400},
		{"POST", "", `not json`, 400},
		{"POST", "", `{"limit":1000,"filter":{"op":"="}}`, 400},
		{"POST", "", `{"filter":{"op":"touches","args":[1,2]}}`, 400},
		{"POST", "", `{"filter":"eo:cloud_cover <"}`, 400},
		{"POST", "", `{"filter":"x < 1","filter-lang":"cql-fancy"}`, 400},
		{"POST", "", `{"query":{"x":{"near":1}}}`, 400},
		{"POST", "", `{"limit":1000,"filter":{"op":"=","args":[{"property":"x"},1]}}`, 200},
		{"POST", "", `{"unknown":{"op":"="}}`, 200},
		{"POST", "", ``, 200},
		{"GET", "?datetime=x", "", 405},
		{"PUT", "", "", 405},
	}
	for _, tt := range tests {
		var body []byte
		if tt.body != "" {
			body = []byte(tt.body)
		}
		code, hdr, b := do(t, c, tt.method, s.STACURL+"search"+tt.query, body, nil)
		if code != tt.want {
			t.Errorf("%s %s %s: %d, want %d: %s", tt.method, tt.query, tt.body, code, tt.want, b)
		}
		if code != 200 && hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: error Content-Type %q", tt.method, tt.body, hdr.Get("Content-Type"))
		}
	}
	s2 := New(Options{})
	defer s2.Close()
	if code, _, b := do(t, c, "GET", s2.STACURL+"search?datetime=2024-13-01T00:00:00Z", nil, nil); code != 400 {
		t.Errorf("invalid GET datetime: %d %s", code, b)
	}
	if code, _, b := do(t, c, "GET", s2.STACURL+"search?limit=-1", nil, nil); code != 400 {
		t.Errorf("negative limit: %d %s", code, b)
	}
}

func TestLanding(t *testing.T) {
	tests := []struct {
		opts    Options
		methods []string
		base    string
	}{
		{Options{}, []string{"GET", "POST"}, "/stac/"},
		{Options{SearchPOST: true, Prefix: "/api/stac/v1/"}, []string{"POST"}, "/api/stac/v1/"},
		{Options{SearchGET: true, Prefix: "/"}, []string{"GET"}, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			s := New(tt.opts)
			defer s.Close()
			if s.STACURL != s.URL+tt.base {
				t.Fatalf("STACURL %s", s.STACURL)
			}
			c := newClient(t)
			code, hdr, b := do(t, c, "GET", s.STACURL, nil, nil)
			if code != 200 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("landing: %d %s", code, b)
			}
			var l struct {
				Type, ID   string
				Version    string   `json:"stac_version"`
				ConformsTo []string `json:"conformsTo"`
				Links      []testLink
			}
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			if l.Type != "Catalog" || l.ID != "fakestac" || l.Version != "1.0.0" {
				t.Errorf("landing %s", b)
			}
			for _, cc := range []string{"/core", "/collections", "/item-search", "/ogcapi-features"} {
				if !slices.ContainsFunc(l.ConformsTo, func(s string) bool { return strings.HasSuffix(s, cc) }) {
					t.Errorf("conformsTo lacks %s", cc)
				}
			}
			var methods []string
			rels := map[string]string{}
			for _, k := range l.Links {
				rels[k.Rel] = k.Href
				if k.Rel == "search" {
					methods = append(methods, k.Method)
				}
			}
			if !slices.Equal(methods, tt.methods) {
				t.Errorf("search methods %v, want %v", methods, tt.methods)
			}
			for rel, want := range map[string]string{
				"self": s.STACURL, "root": s.STACURL, "data": s.STACURL + "collections",
				"conformance": s.STACURL + "conformance", "search": s.STACURL + "search",
			} {
				if rels[rel] != want {
					t.Errorf("link %s = %q, want %q", rel, rels[rel], want)
				}
			}
			if code, _, b := do(t, c, "GET", s.STACURL+"conformance", nil, nil); code != 200 || !strings.Contains(string(b), "item-search") {
				t.Errorf("conformance: %d %s", code, b)
			}
		})
	}
}

func TestItemRendering(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddItem(Item{
		ID: "i1", Collection: "c", Start: ptime("2024-03-15T10:46:49.024Z"), End: ptime("2024-03-15T10:46:50Z"),
		Bbox:       []float64{1, 2, 3, 4},
		Properties: map[string]any{"datetime": "ignored", "eo:cloud_cover": 3.5},
		Assets: map[string]Asset{
			"a.tif": {Path: "/download/x/a.tif", Size: 10, FileSize: true, Type: "image/tiff", Title: "A",
				Roles: []string{"data"}, Alternates: map[string]string{"download": "https://example.com/a.tif"}},
			"s3": {Href: "s3://bucket/k", Content: []byte("abc"), FileSize: true},
		},
	})
	c := newClient(t)
	_, _, b := do(t, c, "GET", s.STACURL+"collections/c/items/i1", nil, nil)
	var it struct {
		Type       string
		Extensions []string `json:"stac_extensions"`
		Geometry   struct {
			Type        string
			Coordinates [][][]float64
		}
		Properties map[string]any
		Assets     map[string]struct {
			Href      string
			Type      string
			Title     string
			Roles     []string
			Size      *int64 `json:"file:size"`
			Alternate map[string]struct{ Href string }
		}
	}
	if err := json.Unmarshal(b, &it); err != nil {
		t.Fatal(err)
	}
	if it.Properties["datetime"] != nil {
		t.Errorf("datetime %v, want null", it.Properties["datetime"])
	}
	if it.Properties["start_datetime"] != "2024-03-15T10:46:49.024000Z" || it.Properties["end_datetime"] != "2024-03-15T10:46:50.000000Z" {
		t.Errorf("start/end %v %v", it.Properties["start_datetime"], it.Properties["end_datetime"])
	}
	if it.Geometry.Type != "Polygon" || len(it.Geometry.Coordinates[0]) != 5 || it.Geometry.Coordinates[0][2][0] != 3 {
		t.Errorf("geometry %+v", it.Geometry)
	}
	a := it.Assets["a.tif"]
	if a.Href != s.URL+"/download/x/a.tif" || a.Size == nil || *a.Size != 10 || a.Title != "A" || a.Roles[0] != "data" ||
		a.Alternate["download"].Href != "https://example.com/a.tif" {
		t.Errorf("asset a.tif %+v", a)
	}
	if s3 := it.Assets["s3"]; s3.Href != "s3://bucket/k" || s3.Size == nil || *s3.Size != 3 {
		t.Errorf("asset s3 %+v", s3)
	}
	if len(it.Extensions) != 2 {
		t.Errorf("stac_extensions %v", it.Extensions)
	}
}
