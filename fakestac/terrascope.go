package fakestac

import (
	"fmt"
	"time"
)

// Terrascope scenario constants.
const (
	TerrascopeRealm     = "terrascope"
	TerrascopeClientID  = "public"
	TerrascopePublic    = "terrascope-s2-ndvi-v2"
	TerrascopeProtected = "terrascope-s2-toc-v2"
)

// TerrascopeOptions configures NewTerrascope. The zero value is usable.
type TerrascopeOptions struct {
	// AccessTTL is the access-token lifetime (default 300 s).
	AccessTTL time.Duration
	// RefreshTTL is the refresh-token lifetime (default 1800 s).
	RefreshTTL time.Duration
	// NoRotate lets refresh tokens be used more than once (rotation is on by default).
	NoRotate bool
	// DefaultLimit is the page size without limit (default 2, so that walking a collection
	// of 2 items ends with an empty page).
	DefaultLimit int
}

// Terrascope emulates Terrascope: a stac-fastapi STAC API (token paging, a next link on
// every full page so the last one leads to an empty page, numberMatched) with one anonymous
// collection and one needing the bearer token on the API too (401), downloads on a second
// origin under /download/ that redirect (302) to the Keycloak login page when the bearer
// token is missing or stale, and a Keycloak realm "terrascope" under /auth with the public
// client "public", a user and rotating refresh tokens.
//
// terrascope-s2-ndvi-v2 (anonymous): two items, datetime null with start/end_datetime; asset
// keys are file names: <ID>_NDVI_20M.tif (a real COG) and <ID>_QUICKLOOK.png, no
// file:size, at <DownloadURL>/download/Sentinel2/NDVI_V2/YYYY/MM/DD/<ID>/<file>.
// terrascope-s2-toc-v2 (protected): two items with <ID>_B04_10M.tif (1 MiB ramp) at
// /download/Sentinel2/TOC_V2/YYYY/MM/DD/<ID>/<file>.
type Terrascope struct {
	STAC      *Server
	Downloads *Server
	Token     *TokenServer

	STACURL, TokenURL string
	// DownloadURL is the download origin.
	DownloadURL string
	// ClientID ("public"), Username and Password (random per instance) log in.
	ClientID, Username, Password string
	// Items lists the item ids by collection; DownloadPaths the served paths.
	Items         map[string][]string
	DownloadPaths []string
}

// NewTerrascope starts the Terrascope scenario.
func NewTerrascope(o TerrascopeOptions) *Terrascope {
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 1800 * time.Second
	}
	if o.DefaultLimit <= 0 {
		o.DefaultLimit = 2
	}
	user, pass := "stacfs-tester", "pw-"+randHex(8)
	tok := NewTokenServer(TokenOptions{
		Realm:         TerrascopeRealm,
		BasePath:      "/auth",
		AccessTTL:     o.AccessTTL,
		RefreshTTL:    o.RefreshTTL,
		Rotate:        !o.NoRotate,
		Clients:       map[string]string{TerrascopeClientID: ""},
		Users:         map[string]string{user: pass},
		LoginClientID: "terrascope-download",
	})
	s := New(Options{Paging: PagingToken, NumberMatched: true, Prefix: "/", DefaultLimit: o.DefaultLimit,
		Conformance: []string{
			"https://api.stacspec.org/v1.0.0/item-search#fields",
			"https://api.stacspec.org/v1.0.0/item-search#filter",
			"https://api.stacspec.org/v1.0.0/item-search#query",
			"https://api.stacspec.org/v1.0.0/item-search#sort",
		}})
	dl := New(Options{AssetsOnly: true})
	s.RequireBearerCollection(tok, TerrascopeProtected, Answer401)
	dl.RequireBearer(tok, "/download/", RedirectToLogin)
	t := &Terrascope{
		STAC: s, Downloads: dl, Token: tok,
		STACURL: s.STACURL, TokenURL: tok.URL(), DownloadURL: dl.URL,
		ClientID: TerrascopeClientID, Username: user, Password: pass,
		Items: map[string][]string{},
	}
	s.AddCollection(Collection{ID: TerrascopePublic, Title: "Terrascope Sentinel-2 NDVI V2",
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	s.AddCollection(Collection{ID: TerrascopeProtected, Title: "Terrascope Sentinel-2 TOC V2 (restricted)",
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	for i, when := range []string{"2024-03-15T10:46:49.024000Z", "2024-04-02T10:50:31.024000Z"} {
		tm := mustTime(when)
		sat := []string{"S2B", "S2A"}[i]
		for _, c := range []struct{ coll, kind string }{{TerrascopePublic, "NDVI"}, {TerrascopeProtected, "TOC"}} {
			id := fmt.Sprintf("%s_%s_31UFS_%s_V210", sat, tm.Format("20060102T150405"), c.kind)
			dir := fmt.Sprintf("/download/Sentinel2/%s_V2/%s/%s/", c.kind, tm.Format("2006/01/02"), id)
			assets := map[string]Asset{}
			if c.kind == "NDVI" {
				ql, err := quicklook(96, 96, 20+i)
				if err != nil {
					panic(err)
				}
				assets[id+"_NDVI_20M.tif"] = Asset{Path: dir + id + "_NDVI_20M.tif", Content: demoNDVI,
					Type: tiffType, Title: "NDVI", Roles: []string{"data"}}
				assets[id+"_QUICKLOOK.png"] = Asset{Path: dir + id + "_QUICKLOOK.png", Content: ql,
					Type: "image/png", Title: "Quicklook", Roles: []string{"thumbnail"}}
			} else {
				assets[id+"_B04_10M.tif"] = Asset{Path: dir + id + "_B04_10M.tif", Size: 1 << 20, Seed: 40 + i,
					Type: tiffType, Title: "B04", Roles: []string{"data"}}
			}
			t.addItem(Item{ID: id, Collection: c.coll, Start: tm, End: tm, Bbox: bbox31UFS,
				Properties: map[string]any{"title": id, "constellation": "sentinel-2", "instruments": []string{"msi"}},
				Assets:     assets})
		}
	}
	return t
}

// addItem adds it to the catalog with its assets served by the download origin.
func (t *Terrascope) addItem(it Item) {
	for k, a := range it.Assets {
		t.Downloads.AddAsset(a)
		t.DownloadPaths = append(t.DownloadPaths, a.Path)
		a.Href = t.Downloads.Href(a.Path)
		a.Path = ""
		it.Assets[k] = a
	}
	t.STAC.AddItem(it)
	t.Items[it.Collection] = append(t.Items[it.Collection], it.ID)
}

// Logs returns the request logs of the STAC, download and token origins.
func (t *Terrascope) Logs() []ServerLog {
	return []ServerLog{logOf("stac", t.STAC), logOf("download", t.Downloads), logOf("token", t.Token.Server)}
}

// Close shuts every origin down.
func (t *Terrascope) Close() {
	t.STAC.Close()
	t.Downloads.Close()
	t.Token.Close()
}
