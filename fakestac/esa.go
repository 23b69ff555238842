package fakestac

import (
	"fmt"
	"strings"
	"time"
)

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
