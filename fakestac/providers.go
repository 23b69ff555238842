package fakestac

import (
	"fmt"
	"strings"
	"time"
)

// ServerLog is the request log of one origin of a provider scenario.
type ServerLog struct {
	// Name is the role of the origin: "stac", "token", "download" or "store".
	Name string
	// Origin is http://127.0.0.1:port.
	Origin   string
	Requests []Request
}

// WithAuthorization returns the logged requests that carried an Authorization header.
func (l ServerLog) WithAuthorization() []Request {
	var out []Request
	for _, r := range l.Requests {
		if r.Header.Get("Authorization") != "" {
			out = append(out, r)
		}
	}
	return out
}

func logOf(name string, s *Server) ServerLog {
	return ServerLog{Name: name, Origin: s.URL, Requests: s.Requests()}
}

// ---------------------------------------------------------------------------------------
// ESA MAAP

// ESA MAAP scenario constants.
const (
	ESARealm         = "esa-maap"
	ESAClientID      = "offline-token"
	ESALevel1b       = "BiomassLevel1b"
	ESALevel2a       = "BiomassLevel2a"
	esaBucket        = "biomass-pdgs"
	esaOldAuthScheme = "http://127.0.0.1:1/realms/esa-maap/.well-known/openid-configuration"
)

// ESAOptions configures NewESAMAAP. The zero value is usable.
type ESAOptions struct {
	// AccessTTL is the access-token lifetime (default 300 s; ESA does not document it).
	AccessTTL time.Duration
	// ExtraItems adds that many generated products (ramp measurement of 256 KiB, with
	// file:size) to BiomassLevel1b, one per day from 2025-09-01, to have pages to walk.
	ExtraItems int
	// DefaultLimit is the search page size without limit (default 10).
	DefaultLimit int
	// KeepOfflineOnRevoke makes Token.RevokeAll spare the offline token.
	KeepOfflineOnRevoke bool
}

// ESAMAAP emulates ESA MAAP: an anonymous FedEO-like STAC API (startRecord paging, GET
// next links also after POST, numberMatched) whose assets live on the same origin under
// /data/, which needs a bearer token (401 when missing, expired or revoked), and a Keycloak
// realm "esa-maap" whose confidential client "offline-token" refreshes a 90-day offline
// token (refresh_expires_in 0; each refresh returns a new refresh token, the original stays
// valid).
//
// Collections BiomassLevel1b (three L1b frames on 2025-07-03 (two) and 2025-08-14, plus
// ExtraItems) and BiomassLevel2a (one product spanning 2025-07-10..2025-07-23). Assets of
// product <ID> (collection C, start date YYYY/MM/DD, <id> = lower-case ID) under
// /data/biomass-pdgs/C/YYYY/MM/DD/<ID>/<ID>/: enclosure_tiff measurement/<id>_abs.tiff (a
// real COG; _agb.tiff for L2), enclosure_annot_xml annotation/<id>.xml, quicklook_png
// preview/<id>_ql.png, all with file:size and Range; product /data/zipper/<ID>.zip (a real
// zip of the three, chunked, no length, no Range). Items carry an auth:schemes block pointing
// at a dead identity host (127.0.0.1:1): the token URL must never come from items.
type ESAMAAP struct {
	STAC  *Server
	Token *TokenServer

	// STACURL is the landing page; TokenURL the token endpoint.
	STACURL, TokenURL string
	// ClientID ("offline-token"), ClientSecret (random per instance) and OfflineToken are
	// what a user keeps in ~/credentials.txt.
	ClientID, ClientSecret, OfflineToken string
	// Items lists the item ids by collection.
	Items map[string][]string
	// DataPaths lists the served asset paths (all under /data/).
	DataPaths []string
}

// NewESAMAAP starts the ESA MAAP scenario.
func NewESAMAAP(o ESAOptions) *ESAMAAP {
	secret := "esa-" + randHex(12)
	tok := NewTokenServer(TokenOptions{
		Realm:               ESARealm,
		AccessTTL:           o.AccessTTL,
		Clients:             map[string]string{ESAClientID: secret},
		KeepOfflineOnRevoke: o.KeepOfflineOnRevoke,
		Scope:               "openid offline_access",
	})
	s := New(Options{
		Paging:         PagingStartRecord,
		NumberMatched:  true,
		Prefix:         "/catalogue",
		DefaultLimit:   o.DefaultLimit,
		CollectionPage: 10,
		MaxLimit:       1000,
	})
	s.RequireBearer(tok, "/data/", Answer401)
	e := &ESAMAAP{
		STAC: s, Token: tok, STACURL: s.STACURL, TokenURL: tok.URL(),
		ClientID: ESAClientID, ClientSecret: secret,
		OfflineToken: tok.IssueOfflineToken(ESAClientID, "maap-user"),
		Items:        map[string][]string{},
	}
	s.AddCollection(Collection{ID: ESALevel1b, Title: "BIOMASS Level 1b",
		Start: time.Date(2025, 4, 29, 0, 0, 0, 0, time.UTC), Bbox: []float64{11, -1, 12, 0}})
	s.AddCollection(Collection{ID: ESALevel2a, Title: "BIOMASS Level 2a",
		Start: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), Bbox: []float64{11, -1, 12, 0}})
	for i, d := range []struct {
		coll, id, start, end string
		l2                   bool
	}{
		{ESALevel1b, "BIO_S1_SCS__1S_20250703T083015_20250703T083036_T_G01_M01_C01_T010_F050_01_FAKE01",
			"2025-07-03T08:30:15.123456Z", "2025-07-03T08:30:36.789012Z", false},
		{ESALevel1b, "BIO_S1_SCS__1S_20250703T083036_20250703T083057_T_G01_M01_C01_T010_F051_01_FAKE02",
			"2025-07-03T08:30:36.789012Z", "2025-07-03T08:30:57.456789Z", false},
		{ESALevel1b, "BIO_S1_SCS__1S_20250814T174410_20250814T174431_T_G02_M02_C01_T011_F050_01_FAKE03",
			"2025-08-14T17:44:10.500000Z", "2025-08-14T17:44:31.250000Z", false},
		{ESALevel2a, "BIO_FP_AGB_L2A_20250710T061200_20250723T061200_T_G01_M01_C01_T010_F050_01_FAKE04",
			"2025-07-10T06:12:00.250000Z", "2025-07-23T06:12:00.250000Z", true},
	} {
		e.addProduct(d.coll, d.id, *mustTime(d.start), *mustTime(d.end), d.l2, i, demoBiomass)
	}
	for i := range o.ExtraItems {
		start := time.Date(2025, 9, 1, 6, 0, 0, 250000000, time.UTC).Add(time.Duration(i) * 24 * time.Hour)
		id := fmt.Sprintf("BIO_S1_SCS__1S_%s_%s_T_G03_M03_C01_T012_F%03d_01_GEN%03d",
			start.Format("20060102T150405"), start.Add(21*time.Second).Format("20060102T150405"), i%1000, i)
		e.addProduct(ESALevel1b, id, start, start.Add(21*time.Second), false, 100+i, nil)
	}
	return e
}

// addProduct adds one product in the ESA layout; content nil gives a 256 KiB ramp
// measurement.
func (e *ESAMAAP) addProduct(coll, id string, start, end time.Time, l2 bool, seed int, content []byte) {
	low := strings.ToLower(id)
	dir := fmt.Sprintf("/data/%s/%s/%s/%s/%s/", esaBucket, coll, start.Format("2006/01/02"), id, id)
	tiffName, productType := "measurement/"+low+"_abs.tiff", "S1_SCS__1S"
	if l2 {
		tiffName, productType = "measurement/"+low+"_agb.tiff", "FP_AGB_L2A"
	}
	xmlName, qlName := "annotation/"+low+".xml", "preview/"+low+"_ql.png"
	annot := annotation(id, productType, start, end)
	ql, err := quicklook(64, 64, seed)
	if err != nil {
		panic(err)
	}
	tiff := Asset{Path: dir + tiffName, Content: content, FileSize: true, Type: tiffType,
		Title: "Measurement", Roles: []string{"data"}}
	zipTiff := content
	if content == nil {
		tiff.Size, tiff.Seed = 256<<10, seed
		zipTiff = RampBytes(seed, 0, tiff.Size)
	}
	product, err := zipProduct(id, start, map[string][]byte{tiffName: zipTiff, xmlName: annot, qlName: ql},
		[]string{tiffName, xmlName, qlName})
	if err != nil {
		panic(err)
	}
	assets := map[string]Asset{
		"enclosure_tiff": tiff,
		"enclosure_annot_xml": {Path: dir + xmlName, Content: annot, FileSize: true,
			Type: "application/xml", Title: "Annotation", Roles: []string{"metadata"}},
		"quicklook_png": {Path: dir + qlName, Content: ql, FileSize: true,
			Type: "image/png", Title: "Quicklook", Roles: []string{"overview"}},
		"product": {Path: "/data/zipper/" + id + ".zip", Content: product, NoLength: true,
			Type: "application/zip", Title: "Zipped product", Roles: []string{"data"}},
	}
	s, e2 := &start, &end
	e.STAC.AddItem(Item{
		ID: id, Collection: coll, Datetime: s, Start: s, End: e2,
		Bbox: []float64{11.5, -0.5, 11.75, -0.25},
		Properties: map[string]any{
			"platform":     "biomass",
			"instruments":  []string{"P-SAR"},
			"product:type": productType,
			"auth:schemes": map[string]any{"oidc": map[string]string{
				"type": "openIdConnect", "openIdConnectUrl": esaOldAuthScheme}},
		},
		Assets: assets,
	})
	e.Items[coll] = append(e.Items[coll], id)
	for _, a := range assets {
		e.DataPaths = append(e.DataPaths, a.Path)
	}
}

// Logs returns the request logs of the STAC/data origin and of the token server.
func (e *ESAMAAP) Logs() []ServerLog {
	return []ServerLog{logOf("stac", e.STAC), logOf("token", e.Token.Server)}
}

// Close shuts every origin down.
func (e *ESAMAAP) Close() {
	e.STAC.Close()
	e.Token.Close()
}

// ---------------------------------------------------------------------------------------
// Terrascope

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

// ---------------------------------------------------------------------------------------
// EarthPlatform (EarthDaily Earth Data Store)

// EarthPlatform scenario constants.
const (
	EarthPlatformClientID   = "EARTHDAILY_API_TOKEN"
	EarthPlatformPrefix     = "/platform/v1/stac"
	EarthPlatformSentinel2  = "sentinel-2-l2a"
	EarthPlatformMosaics    = "ai-ready-mosaics-sample"
	EarthPlatformSignHeader = "X-Signed-Asset-Urls"
)

// EarthPlatformOptions configures NewEarthPlatform. The zero value is usable.
type EarthPlatformOptions struct {
	// AccessTTL is the access-token lifetime (default 3600 s).
	AccessTTL time.Duration
	// FormAuthOnly makes the token endpoint accept the client credentials only as form
	// fields (default: only HTTP Basic).
	FormAuthOnly bool
	// MaxConcurrent is the number of concurrent STAC API requests before 429 (default 30).
	MaxConcurrent int
	// PresignTTL is the lifetime of presigned URLs (default 12 h).
	PresignTTL time.Duration
	// StrictHEAD makes the store refuse HEAD on GET-signed URLs, like real S3.
	StrictHEAD bool
}

// EarthPlatform emulates the EarthDaily Earth Data Store: a stac-fastapi STAC API at
// /platform/v1/stac that needs the bearer token everywhere (401 when missing or expired,
// 429 beyond MaxConcurrent concurrent requests), a Cognito-like client-credentials token
// endpoint at /oauth2/token (no refresh token), and items whose asset href is
// s3://<bucket>/... with file:size, plus alternate.download.href, a freshly presigned URL on
// the PresignStore, when the request has X-Signed-Asset-Urls: True (any case) and always on
// single-item GETs.
//
// sentinel-2-l2a: three items (2024-06-10, -15, -20) with B04 and B08 (real COGs) and
// thumbnail; ai-ready-mosaics-sample: one item with nir (4 MiB ramp) and work_order (JSON).
// Objects are at /_PUBLIC/<collection>/YYYY/MM/DD/<ID>/<ID>_<KEY>.<EXT> in the store.
type EarthPlatform struct {
	STAC  *Server
	Token *TokenServer
	Store *PresignStore

	STACURL, TokenURL string
	// ClientID ("EARTHDAILY_API_TOKEN") and ClientSecret (random per instance) are the
	// EDS_CLIENT_ID and EDS_SECRET of the user's EDS.env.
	ClientID, ClientSecret string
	// Items lists the item ids by collection; ObjectPaths the store paths.
	Items       map[string][]string
	ObjectPaths []string
}

// NewEarthPlatform starts the EarthPlatform scenario.
func NewEarthPlatform(o EarthPlatformOptions) *EarthPlatform {
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 30
	}
	auth := ClientAuthBasic
	if o.FormAuthOnly {
		auth = ClientAuthForm
	}
	secret := "eds-" + randHex(16)
	tok := NewTokenServer(TokenOptions{
		Plain:      true,
		AccessTTL:  o.AccessTTL,
		Clients:    map[string]string{EarthPlatformClientID: secret},
		ClientAuth: auth,
	})
	store := NewPresignStore(PresignOptions{TTL: o.PresignTTL, Bucket: "earthdaily-eds-fakestac",
		StrictHEAD: o.StrictHEAD})
	s := New(Options{Paging: PagingToken, NumberMatched: true, Prefix: EarthPlatformPrefix,
		Conformance: []string{
			"https://api.stacspec.org/v1.0.0/item-search#query",
			"https://api.stacspec.org/v1.0.0/item-search#fields",
			"https://api.stacspec.org/v1.0.0/item-search#sort",
		}})
	s.RequireBearer(tok, EarthPlatformPrefix, Answer401)
	s.SetMaxConcurrent(o.MaxConcurrent)
	p := &EarthPlatform{
		STAC: s, Token: tok, Store: store, STACURL: s.STACURL, TokenURL: tok.URL(),
		ClientID: EarthPlatformClientID, ClientSecret: secret, Items: map[string][]string{},
	}
	s.AddCollection(Collection{ID: EarthPlatformSentinel2, Title: "Sentinel-2 L2A",
		Start: time.Date(2015, 6, 27, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	s.AddCollection(Collection{ID: EarthPlatformMosaics, Title: "AI Ready Mosaics Sample",
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	for i, when := range []string{"2024-06-10T10:46:21.024000Z", "2024-06-15T10:36:29.024000Z", "2024-06-20T10:46:31.024000Z"} {
		tm := mustTime(when)
		id := fmt.Sprintf("S2%s_31UFS_%s_0_L2A", []string{"A", "B", "A"}[i], tm.Format("20060102"))
		thumb, err := quicklook(64, 64, 30+i)
		if err != nil {
			panic(err)
		}
		p.addItem(Item{ID: id, Collection: EarthPlatformSentinel2, Datetime: tm, Bbox: bbox31UFS,
			Properties: map[string]any{"platform": "sentinel-2a", "eo:cloud_cover": 3.5 * float64(i+1)},
			Assets: map[string]Asset{
				"red":       {Content: demoB04, Type: cogType, Title: "B04", Roles: []string{"data"}},
				"nir":       {Content: demoB08, Type: cogType, Title: "B08", Roles: []string{"data"}},
				"thumbnail": {Content: thumb, Type: "image/png", Title: "Thumbnail", Roles: []string{"thumbnail"}},
			}}, tm)
	}
	tm := mustTime("2024-02-21T13:40:29.936000Z")
	p.addItem(Item{ID: "EDA_Mosaic_M_L2A_EM_Mosaic_FAKE1", Collection: EarthPlatformMosaics, Datetime: tm,
		Start: tm, End: mustTime("2024-04-21T13:40:56.638000Z"), Bbox: bbox31UFS,
		Assets: map[string]Asset{
			"nir": {Size: 4 << 20, Seed: 77, Type: cogType, Title: "NIR", Roles: []string{"data"}},
			"work_order": {Content: []byte(`{"work_order": "fakestac"}` + "\n"), Type: "application/json",
				Title: "Work order", Roles: []string{"metadata"}},
		}}, tm)
	return p
}

// addItem puts the assets of it in the store under the EDS layout and adds it with s3://
// hrefs and presigned download alternates.
func (p *EarthPlatform) addItem(it Item, day *time.Time) {
	for k, a := range it.Assets {
		ext := ".TIF"
		switch a.Type {
		case "image/png":
			ext = ".PNG"
		case "application/json":
			ext = ".JSON"
		}
		path := fmt.Sprintf("/_PUBLIC/%s/%s/%s/%s_%s%s", it.Collection, day.Format("2006/01/02"), it.ID, it.ID,
			strings.ToUpper(k), ext)
		a.Path = path
		p.Store.AddObject(a)
		p.ObjectPaths = append(p.ObjectPaths, path)
		a.Path = ""
		a.Href = p.Store.S3URI(path)
		a.FileSize = true
		a.AlternateFuncs = map[string]func(RenderContext) string{"download": func(rc RenderContext) string {
			if rc.Single || strings.EqualFold(rc.Request.Header.Get(EarthPlatformSignHeader), "true") {
				return p.Store.Sign(path, 0)
			}
			return ""
		}}
		it.Assets[k] = a
	}
	p.STAC.AddItem(it)
	p.Items[it.Collection] = append(p.Items[it.Collection], it.ID)
}

// Logs returns the request logs of the STAC, token and store origins.
func (p *EarthPlatform) Logs() []ServerLog {
	return []ServerLog{logOf("stac", p.STAC), logOf("token", p.Token.Server), logOf("store", p.Store.Server)}
}

// Close shuts every origin down.
func (p *EarthPlatform) Close() {
	p.STAC.Close()
	p.Token.Close()
	p.Store.Close()
}
