package fakestac

import (
	"fmt"
	"strings"
	"time"
)

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
