package fakestac

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// NASA Earthdata scenario constants.
const (
	EarthdataCollection = "HLSS30_2.0"
	EarthdataEULA       = "EULA_PROTECTED_1"
	edlTokenPath        = "/api/users/find_or_create_token"
	edlAuthorizePath    = "/oauth/authorize"
)

// EarthdataOptions configures NewEarthdata. The zero value is usable.
type EarthdataOptions struct {
	// TokenTTL is how long the download host accepts an EDL user token; find_or_create_token
	// says 60 days in expiration_date (MM/DD/YYYY) whatever it is, as EDL does. After it
	// the host redirects to the sign-in page and find_or_create_token hands out a new token.
	// Default 60 days.
	TokenTTL time.Duration
	// PresignTTL is the lifetime of the presigned URLs the download host redirects to
	// (default 3600 s). Cache-Control max-age is PresignTTL - 60 s, or three quarters of
	// it when that is shorter than a minute.
	PresignTTL time.Duration
}

// Earthdata emulates a CMR-STAC provider with Earthdata Login and a Thin Egress App:
//
//   - STAC: an anonymous STAC API (PagingToken) at /stac/LPCLOUD whose assets live on TEA;
//   - URS: Earthdata Login: POST /api/users/find_or_create_token with HTTP Basic
//     Username:Password answers {"access_token", "token_type": "Bearer",
//     "expiration_date": "MM/DD/YYYY"} (the user's live token, or a new one), a wrong
//     password 401 {"error": "invalid_credentials"}; GET /oauth/authorize is the HTML
//     sign-in page;
//   - TEA: the download host. A request without a valid bearer token gets 302 to
//     URS /oauth/authorize?client_id=...&response_type=code&redirect_uri=.../login; the
//     EULA collection answers 403 JSON with resolution_url until AcceptEULA; otherwise 303
//     to a presigned URL on S3 with Cache-Control: private, max-age;
//   - S3: a PresignStore, which refuses a request carrying Authorization (400, "Only one
//     auth mechanism allowed").
//
// Collection HLSS30_2.0 has two items (HLS.S30.T31UFS.2024164T104631.v2.0 and
// ...2024167T105619...), each with B04 (a real COG, file:size) and ramp (3 MiB ramp bytes,
// seed 21 and 22); collection EULA_PROTECTED_1 has one item whose asset needs the EULA.
type Earthdata struct {
	STAC, URS, TEA *Server
	S3             *PresignStore
	// STACURL is the landing page, TokenURL find_or_create_token, TEAURL the download
	// host's origin.
	STACURL, TokenURL, TEAURL string
	// Username and Password are the user's EDL credentials.
	Username, Password string
	// Items lists the item ids of HLSS30_2.0; Hrefs maps "<item>/<asset>" to the href.
	Items []string
	Hrefs map[string]string

	opts EarthdataOptions

	mu       sync.Mutex
	tokens   map[string]time.Time // GUARDED_BY(mu): token -> end of its life at TEA
	current  string               // GUARDED_BY(mu): the user's live token
	created  int                  // GUARDED_BY(mu): tokens created
	accepted bool                 // GUARDED_BY(mu): the EULA was accepted
}

// NewEarthdata starts the Earthdata scenario.
func NewEarthdata(o EarthdataOptions) *Earthdata {
	if o.TokenTTL <= 0 {
		o.TokenTTL = 60 * 24 * time.Hour
	}
	if o.PresignTTL <= 0 {
		o.PresignTTL = time.Hour
	}
	e := &Earthdata{
		STAC:     New(Options{Paging: PagingToken, Prefix: "/stac/LPCLOUD", NumberMatched: true}),
		URS:      New(Options{AssetsOnly: true}),
		TEA:      New(Options{AssetsOnly: true}),
		S3:       NewPresignStore(PresignOptions{Bucket: "lp-prod-protected"}),
		Username: "edl-user",
		Password: "edl-pw-" + randHex(6),
		Hrefs:    map[string]string{},
		opts:     o,
		tokens:   map[string]time.Time{},
	}
	e.STACURL, e.TokenURL, e.TEAURL = e.STAC.STACURL, e.URS.URL+edlTokenPath, e.TEA.URL
	e.URS.Handle("POST "+edlTokenPath, http.HandlerFunc(e.serveToken))
	e.URS.Handle("GET "+edlAuthorizePath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body><form>Earthdata Login: sign in</form></body></html>\n"))
	}))
	e.TEA.AddGuard("/", e.serveTEA)
	e.STAC.AddCollection(Collection{ID: EarthdataCollection, Title: "HLS Sentinel-2 MSI Surface Reflectance",
		Start: time.Date(2015, 11, 28, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	e.STAC.AddCollection(Collection{ID: EarthdataEULA, Title: "A collection behind a EULA",
		Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	for i, id := range []string{"HLS.S30.T31UFS.2024164T104631.v2.0", "HLS.S30.T31UFS.2024167T105619.v2.0"} {
		day := time.Date(2024, 6, 12+3*i, 10, 46, 31, 0, time.UTC)
		dir := "/lp-prod-protected/" + EarthdataCollection + "/" + id + "/"
		assets := map[string]Asset{
			"B04":  {Path: dir + id + ".B04.tif", Content: demoB04, FileSize: true, Type: cogType, Roles: []string{"data"}},
			"ramp": {Path: dir + id + ".ramp.bin", Size: 3 << 20, Seed: 21 + i, Roles: []string{"data"}},
		}
		e.addItem(EarthdataCollection, id, day, assets)
		e.Items = append(e.Items, id)
	}
	day := time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
	e.addItem(EarthdataEULA, "EULA_ITEM_1", day, map[string]Asset{
		"data": {Path: "/lp-prod-protected/" + EarthdataEULA + "/EULA_ITEM_1.bin", Size: 64 << 10, Seed: 5, Roles: []string{"data"}},
	})
	return e
}

// addItem adds an item whose assets are served by S3 and linked on TEA.
func (e *Earthdata) addItem(coll, id string, day time.Time, assets map[string]Asset) {
	for k, a := range assets {
		e.S3.AddObject(a)
		a.Href = e.TEA.URL + a.Path
		assets[k] = a
		e.Hrefs[id+"/"+k] = a.Href
	}
	// The STAC API only describes the assets: strip Path so it serves no bytes itself.
	desc := map[string]Asset{}
	for k, a := range assets {
		a.Path = ""
		desc[k] = a
	}
	e.STAC.AddItem(Item{ID: id, Collection: coll, Datetime: &day, Bbox: bbox31UFS,
		Properties: map[string]any{"platform": "sentinel-2a"}, Assets: desc})
}

// Close shuts every origin down.
func (e *Earthdata) Close() {
	e.STAC.Close()
	e.URS.Close()
	e.TEA.Close()
	e.S3.Close()
}

// Logs returns the request logs of the STAC API ("stac"), Earthdata Login ("urs"), the
// download host ("tea") and the bucket ("s3").
func (e *Earthdata) Logs() []ServerLog {
	return []ServerLog{logOf("stac", e.STAC), logOf("urs", e.URS), logOf("tea", e.TEA), logOf("s3", e.S3.Server)}
}

// TokensCreated returns how many EDL tokens find_or_create_token created.
func (e *Earthdata) TokensCreated() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.created
}

// Tokens returns every EDL token created so far.
func (e *Earthdata) Tokens() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.tokens))
	for t := range e.tokens {
		out = append(out, t)
	}
	return out
}

// AcceptEULA records that the user accepted the EULA collection's agreement.
func (e *Earthdata) AcceptEULA() {
	e.mu.Lock()
	e.accepted = true
	e.mu.Unlock()
}

// ResolutionURL is where the user accepts the EULA.
func (e *Earthdata) ResolutionURL() string {
	return e.URS.URL + "/approve_app?client_id=fakeTEAclient"
}

// serveToken is find_or_create_token: the live token of the user, or a new one.
func (e *Earthdata) serveToken(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != e.Username || pass != e.Password {
		writeJSON(w, http.StatusUnauthorized, "application/json", map[string]string{
			"error": "invalid_credentials", "error_description": "Invalid user credentials"})
		return
	}
	now := time.Now()
	e.mu.Lock()
	if end, live := e.tokens[e.current]; e.current == "" || !live || !now.Before(end) {
		e.current = "EDL-" + randHex(24)
		e.tokens[e.current] = now.Add(e.opts.TokenTTL)
		e.created++
	}
	tok := e.current
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, "application/json", map[string]string{"access_token": tok, "token_type": "Bearer",
		"expiration_date": now.Add(60 * 24 * time.Hour).UTC().Format("01/02/2006")})
}

// serveTEA is the download host: sign-in redirect, EULA, or a redirect to S3.
func (e *Earthdata) serveTEA(w http.ResponseWriter, r *http.Request) bool {
	tok, _ := bearerToken(r)
	e.mu.Lock()
	end, known := e.tokens[tok]
	valid := known && time.Now().Before(end)
	accepted := e.accepted
	e.mu.Unlock()
	if !valid {
		q := url.Values{"client_id": {"fakeTEAclient"}, "response_type": {"code"},
			"redirect_uri": {e.TEA.URL + "/login"}, "state": {r.URL.Path}}
		w.Header().Set("Location", e.URS.URL+edlAuthorizePath+"?"+q.Encode())
		w.WriteHeader(http.StatusFound)
		return true
	}
	if strings.Contains(r.URL.Path, "/"+EarthdataEULA+"/") && !accepted {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{"status_code": 403,
			"error_description": "This data may not be downloaded until the EULA has been accepted",
			"resolution_url":    e.ResolutionURL(), "request_id": randHex(8)})
		return true
	}
	ttl := e.opts.PresignTTL
	age := ttl - time.Minute
	if age < time.Minute {
		age = ttl * 3 / 4
	}
	w.Header().Set("Location", e.S3.Sign(r.URL.Path, ttl))
	w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(age/time.Second)))
	w.WriteHeader(http.StatusSeeOther)
	return true
}
