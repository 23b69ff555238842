package fakestac

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	stacVersion = "1.0.0"
	typeJSON    = "application/json"
	typeGeoJSON = "application/geo+json"

	extFile      = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
	extAlternate = "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"
)

// conformance is what every fakestac landing page claims.
var conformance = []string{
	"https://api.stacspec.org/v1.0.0/core",
	"https://api.stacspec.org/v1.0.0/collections",
	"https://api.stacspec.org/v1.0.0/item-search",
	"https://api.stacspec.org/v1.0.0/ogcapi-features",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
}

// link is a STAC link; Body and Merge are for POST next links.
type link struct {
	Rel    string `json:"rel"`
	Type   string `json:"type,omitempty"`
	Href   string `json:"href"`
	Method string `json:"method,omitempty"`
	Body   any    `json:"body,omitempty"`
	Merge  *bool  `json:"merge,omitempty"`
}

func (s *Server) serveSTAC(w http.ResponseWriter, r *http.Request) {
	prefix := (&url.URL{Path: s.prefix}).EscapedPath()
	rest := strings.Trim(strings.TrimPrefix(r.URL.EscapedPath(), prefix), "/")
	var seg []string
	if rest != "" {
		for _, p := range strings.Split(rest, "/") {
			u, err := url.PathUnescape(p)
			if err != nil {
				writeError(w, http.StatusBadRequest, "BadRequest", "bad path: "+err.Error())
				return
			}
			seg = append(seg, u)
		}
	}
	if len(seg) >= 2 && seg[0] == "collections" && s.refuseCollection(w, r, seg[1]) {
		return
	}
	if len(seg) == 1 && seg[0] == "search" {
		s.search(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" not allowed")
		return
	}
	switch {
	case len(seg) == 0:
		s.landing(w)
	case len(seg) == 1 && seg[0] == "conformance":
		writeJSON(w, http.StatusOK, typeJSON, map[string]any{"conformsTo": s.conformsTo()})
	case len(seg) == 1 && seg[0] == "collections":
		s.listCollections(w, r)
	case len(seg) == 2 && seg[0] == "collections":
		s.getCollection(w, seg[1])
	case len(seg) == 3 && seg[0] == "collections" && seg[2] == "items":
		s.listItems(w, r, seg[1])
	case len(seg) == 4 && seg[0] == "collections" && seg[2] == "items":
		s.getItem(w, r, seg[1], seg[3])
	default:
		writeError(w, http.StatusNotFound, "NotFound", "no such path: "+r.URL.Path)
	}
}

func (s *Server) conformsTo() []string {
	return append(slices.Clone(conformance), s.opts.Conformance...)
}

func (s *Server) landing(w http.ResponseWriter) {
	links := []link{
		{Rel: "self", Type: typeJSON, Href: s.STACURL},
		{Rel: "root", Type: typeJSON, Href: s.STACURL},
		{Rel: "data", Type: typeJSON, Href: s.STACURL + "collections"},
		{Rel: "conformance", Type: typeJSON, Href: s.STACURL + "conformance"},
	}
	if s.opts.SearchGET {
		links = append(links, link{Rel: "search", Type: typeGeoJSON, Href: s.STACURL + "search", Method: http.MethodGet})
	}
	if s.opts.SearchPOST {
		links = append(links, link{Rel: "search", Type: typeGeoJSON, Href: s.STACURL + "search", Method: http.MethodPost})
	}
	writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"type":         "Catalog",
		"id":           "fakestac",
		"title":        "fakestac",
		"description":  "Fake STAC API of stacfs",
		"stac_version": stacVersion,
		"conformsTo":   s.conformsTo(),
		"links":        links,
	})
}

func (s *Server) collectionURL(id string) string {
	return s.STACURL + "collections/" + url.PathEscape(id)
}

func (s *Server) itemURL(collection, id string) string {
	return s.collectionURL(collection) + "/items/" + url.PathEscape(id)
}

func (s *Server) requestURL(r *http.Request) string { return s.URL + r.URL.RequestURI() }

// stamp formats t like stac-fastapi: UTC, microseconds, "Z".
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

type collectionJSON struct {
	Type        string `json:"type"`
	StacVersion string `json:"stac_version"`
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description"`
	License     string `json:"license"`
	Extent      struct {
		Spatial struct {
			Bbox [][]float64 `json:"bbox"`
		} `json:"spatial"`
		Temporal struct {
			Interval [][]*string `json:"interval"`
		} `json:"temporal"`
	} `json:"extent"`
	Links []link `json:"links"`
}

func (s *Server) collectionJSON(c Collection) collectionJSON {
	j := collectionJSON{
		Type:        "Collection",
		StacVersion: stacVersion,
		ID:          c.ID,
		Title:       c.Title,
		Description: c.Description,
		License:     "proprietary",
	}
	if j.Description == "" {
		j.Description = c.Title
	}
	if j.Description == "" {
		j.Description = c.ID
	}
	bbox := c.Bbox
	if bbox == nil {
		bbox = []float64{-180, -90, 180, 90}
	}
	j.Extent.Spatial.Bbox = [][]float64{bbox}
	var start, end *string
	if !c.Start.IsZero() {
		v := stamp(c.Start)
		start = &v
	}
	if !c.End.IsZero() {
		v := stamp(c.End)
		end = &v
	}
	j.Extent.Temporal.Interval = [][]*string{{start, end}}
	self := s.collectionURL(c.ID)
	j.Links = []link{
		{Rel: "self", Type: typeJSON, Href: self},
		{Rel: "root", Type: typeJSON, Href: s.STACURL},
		{Rel: "parent", Type: typeJSON, Href: s.STACURL},
		{Rel: "items", Type: typeGeoJSON, Href: self + "/items"},
	}
	return j
}

func (s *Server) collection(id string) (Collection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.colls {
		if c.ID == id {
			return c, true
		}
	}
	return Collection{}, false
}

func (s *Server) getCollection(w http.ResponseWriter, id string) {
	c, ok := s.collection(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "collection "+id+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, typeJSON, s.collectionJSON(c))
}

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := s.parseLimit(v.Get("limit"), s.opts.CollectionPage)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	off, err := getOffset(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	s.mu.Lock()
	colls := slices.Clone(s.colls)
	s.mu.Unlock()
	page := window(colls, off, limit)
	out := make([]collectionJSON, len(page))
	for i, c := range page {
		out[i] = s.collectionJSON(c)
	}
	links := []link{
		{Rel: "self", Type: typeJSON, Href: s.requestURL(r)},
		{Rel: "root", Type: typeJSON, Href: s.STACURL},
	}
	if s.hasNext(off, len(page), limit, len(colls)) {
		links = append(links, link{Rel: "next", Type: typeJSON,
			Href: s.nextGET(r, v, off+len(page), s.opts.Paging == PagingStartRecord, nil)})
	}
	resp := map[string]any{"collections": out, "links": links, "numberReturned": len(out)}
	if s.opts.NumberMatched {
		resp["numberMatched"] = len(colls)
	}
	writeJSON(w, http.StatusOK, typeJSON, resp)
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, collection, id string) {
	s.mu.Lock()
	it := s.items[collection][id]
	s.mu.Unlock()
	if it == nil {
		writeError(w, http.StatusNotFound, "NotFound", "item "+id+" does not exist in collection "+collection)
		return
	}
	writeJSON(w, http.StatusOK, typeGeoJSON, s.itemJSON(it, RenderContext{Request: r, Single: true}))
}

// listItems serves /collections/{id}/items: every item of the collection, paged by token
// (GET links whatever the paging dialect); search parameters are ignored, as on EarthDaily.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request, collection string) {
	if _, ok := s.collection(collection); !ok {
		writeError(w, http.StatusNotFound, "NotFound", "collection "+collection+" does not exist")
		return
	}
	v := r.URL.Query()
	limit, err := s.parseLimit(v.Get("limit"), s.opts.DefaultLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	off := 0
	if tok := v.Get("token"); tok != "" {
		c, err := decodeCursor(tok)
		if err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		off = c.Off
	}
	all := s.find(r, searchQuery{Collections: []string{collection}}, timeRange{}, nil)
	page := window(all, off, limit)
	links := []link{
		{Rel: "self", Type: typeGeoJSON, Href: s.requestURL(r)},
		{Rel: "root", Type: typeJSON, Href: s.STACURL},
		{Rel: "collection", Type: typeJSON, Href: s.collectionURL(collection)},
	}
	if s.hasNext(off, len(page), limit, len(all)) {
		links = append(links, link{Rel: "next", Type: typeGeoJSON, Href: s.nextGET(r, v, off+len(page), false, nil)})
	}
	s.writeFeatures(w, r, page, links, len(all))
}

// writeFeatures answers with a FeatureCollection.
func (s *Server) writeFeatures(w http.ResponseWriter, r *http.Request, items []*Item, links []link, matched int) {
	features := make([]itemJSON, len(items))
	for i, it := range items {
		features[i] = s.itemJSON(it, RenderContext{Request: r})
	}
	fc := struct {
		Type           string     `json:"type"`
		Features       []itemJSON `json:"features"`
		Links          []link     `json:"links"`
		NumberMatched  *int       `json:"numberMatched,omitempty"`
		NumberReturned int        `json:"numberReturned"`
	}{Type: "FeatureCollection", Features: features, Links: links, NumberReturned: len(features)}
	if s.opts.NumberMatched {
		fc.NumberMatched = &matched
	}
	writeJSON(w, http.StatusOK, typeGeoJSON, fc)
}

type itemJSON struct {
	Type           string               `json:"type"`
	StacVersion    string               `json:"stac_version"`
	StacExtensions []string             `json:"stac_extensions"`
	ID             string               `json:"id"`
	Collection     string               `json:"collection,omitempty"`
	Geometry       any                  `json:"geometry"`
	Bbox           []float64            `json:"bbox,omitempty"`
	Properties     map[string]any       `json:"properties"`
	Links          []link               `json:"links"`
	Assets         map[string]assetJSON `json:"assets"`
}

type assetJSON struct {
	Href      string                       `json:"href"`
	Type      string                       `json:"type,omitempty"`
	Title     string                       `json:"title,omitempty"`
	Roles     []string                     `json:"roles,omitempty"`
	FileSize  *int64                       `json:"file:size,omitempty"`
	Alternate map[string]map[string]string `json:"alternate,omitempty"`
}

func (aj *assetJSON) addAlternate(name, href string) {
	if aj.Alternate == nil {
		aj.Alternate = make(map[string]map[string]string)
	}
	aj.Alternate[name] = map[string]string{"href": href}
}

func (s *Server) itemJSON(it *Item, rc RenderContext) itemJSON {
	j := itemJSON{
		Type:           "Feature",
		StacVersion:    stacVersion,
		StacExtensions: []string{},
		ID:             it.ID,
		Collection:     it.Collection,
		Geometry:       bboxPolygon(it.Bbox),
		Bbox:           it.Bbox,
		Properties:     itemProperties(it),
		Assets:         make(map[string]assetJSON, len(it.Assets)),
	}
	j.Links = []link{
		{Rel: "self", Type: typeGeoJSON, Href: s.itemURL(it.Collection, it.ID)},
		{Rel: "parent", Type: typeJSON, Href: s.collectionURL(it.Collection)},
		{Rel: "collection", Type: typeJSON, Href: s.collectionURL(it.Collection)},
		{Rel: "root", Type: typeJSON, Href: s.STACURL},
	}
	var hasSize, hasAlt bool
	for k, a := range it.Assets {
		aj := assetJSON{Href: a.Href, Type: a.Type, Title: a.Title, Roles: a.Roles}
		if aj.Href == "" && a.Path != "" {
			aj.Href = s.Href(a.Path)
		}
		if a.HrefFunc != nil {
			aj.Href = a.HrefFunc(rc)
		}
		if a.FileSize {
			size := a.Size
			if a.Content != nil && size == 0 {
				size = int64(len(a.Content))
			}
			aj.FileSize = &size
			hasSize = true
		}
		for name, href := range a.Alternates {
			if _, dyn := a.AlternateFuncs[name]; !dyn {
				aj.addAlternate(name, href)
			}
		}
		for name, f := range a.AlternateFuncs {
			if href := f(rc); href != "" {
				aj.addAlternate(name, href)
			}
		}
		if len(aj.Alternate) > 0 {
			hasAlt = true
		}
		j.Assets[k] = aj
	}
	if hasSize {
		j.StacExtensions = append(j.StacExtensions, extFile)
	}
	if hasAlt {
		j.StacExtensions = append(j.StacExtensions, extAlternate)
	}
	return j
}

// itemProperties returns the properties of it as served: its Properties with the
// datetime fields.
func itemProperties(it *Item) map[string]any {
	p := make(map[string]any, len(it.Properties)+3)
	for k, v := range it.Properties {
		p[k] = v
	}
	if it.Datetime != nil {
		p["datetime"] = stamp(*it.Datetime)
	} else {
		p["datetime"] = nil
	}
	if it.Start != nil {
		p["start_datetime"] = stamp(*it.Start)
	}
	if it.End != nil {
		p["end_datetime"] = stamp(*it.End)
	}
	return p
}

// bboxPolygon returns the GeoJSON polygon of a 2D or 3D bbox, nil for anything else.
func bboxPolygon(b []float64) any {
	w, so, e, n, ok := bbox2D(b)
	if !ok {
		return nil
	}
	return map[string]any{
		"type":        "Polygon",
		"coordinates": [][][]float64{{{w, so}, {e, so}, {e, n}, {w, n}, {w, so}}},
	}
}

func bbox2D(b []float64) (w, s, e, n float64, ok bool) {
	switch len(b) {
	case 4:
		return b[0], b[1], b[2], b[3], true
	case 6:
		return b[0], b[1], b[3], b[4], true
	}
	return 0, 0, 0, 0, false
}

// find returns the items matching q, tr and f, sorted by (instant, id, collection), leaving
// out the items of protected collections that r may not see.
func (s *Server) find(r *http.Request, q searchQuery, tr timeRange, f *itemFilter) []*Item {
	var out []*Item
	s.mu.Lock()
	if len(q.Collections) > 0 {
		for _, c := range q.Collections {
			for _, it := range s.items[c] {
				out = append(out, it)
			}
		}
	} else {
		for _, m := range s.items {
			for _, it := range m {
				out = append(out, it)
			}
		}
	}
	s.mu.Unlock()
	out = slices.DeleteFunc(out, func(it *Item) bool {
		return !q.match(it, tr) || !f.match(itemProps(it, itemProperties(it))) || !s.mayRead(r, it.Collection)
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ta, tb := a.instant(), b.instant(); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Collection < b.Collection
	})
	return slices.CompactFunc(out, func(a, b *Item) bool { return a == b }) // repeated collections
}

func (q searchQuery) match(it *Item, tr timeRange) bool {
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, it.ID) {
		return false
	}
	if len(q.Bbox) > 0 {
		qw, qs, qe, qn, _ := bbox2D(q.Bbox)
		iw, is, ie, in, ok := bbox2D(it.Bbox)
		if !ok || ie < qw || iw > qe || in < qs || is > qn {
			return false
		}
	}
	if tr.set {
		lo, hi, ok := it.interval()
		if !ok || (tr.hasLo && hi.Before(tr.lo)) || (tr.hasHi && lo.After(tr.hi)) {
			return false
		}
	}
	return true
}

// window returns all[off:off+limit], clipped.
func window[T any](all []T, off, limit int) []T {
	if off >= len(all) {
		return nil
	}
	return all[off:min(off+limit, len(all))]
}

// hasNext decides whether a page gets a next link: when more remain, or, with PagingToken
// or AlwaysNext, whenever the page is full.
func (s *Server) hasNext(off, n, limit, total int) bool {
	if s.opts.Paging == PagingToken || s.opts.AlwaysNext {
		return n > 0 && n == limit
	}
	return off+n < total
}
