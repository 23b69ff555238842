package fakestac

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// provAsset and provPage decode what the provider scenarios render.
type provAsset struct {
	Href      string                       `json:"href"`
	FileSize  *int64                       `json:"file:size"`
	Alternate map[string]map[string]string `json:"alternate"`
}

type provItem struct {
	ID         string               `json:"id"`
	Collection string               `json:"collection"`
	Properties map[string]any       `json:"properties"`
	Assets     map[string]provAsset `json:"assets"`
}

type provPage struct {
	Features      []provItem `json:"features"`
	Links         []testLink `json:"links"`
	NumberMatched *int       `json:"numberMatched"`
}

func (p provPage) next() string {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func getJSON(t *testing.T, c *http.Client, u string, hdr map[string]string, v any) int {
	t.Helper()
	code, _, body := do(t, c, http.MethodGet, u, nil, hdr)
	if code == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	return code
}

// checkNoAuthOutside fails when a request carried Authorization outside allowed (origin
// name -> path prefixes).
func checkNoAuthOutside(t *testing.T, logs []ServerLog, allowed map[string][]string) {
	t.Helper()
	for _, l := range logs {
		for _, r := range l.WithAuthorization() {
			ok := false
			for _, p := range allowed[l.Name] {
				ok = ok || strings.HasPrefix(r.Path, p)
			}
			if !ok {
				t.Errorf("%s: %s %s carried Authorization", l.Name, r.Method, r.Path)
			}
		}
	}
}

func TestESAMAAP(t *testing.T) {
	e := NewESAMAAP(ESAOptions{ExtraItems: 7, DefaultLimit: 4})
	t.Cleanup(e.Close)
	c := newClient(t)

	// Discovery is anonymous, startRecord paged with GET next links and numberMatched.
	var ids []string
	next := e.STACURL + "search?collections=" + ESALevel1b
	for next != "" {
		var p provPage
		if code := getJSON(t, c, next, nil, &p); code != 200 {
			t.Fatalf("GET %s: %d", next, code)
		}
		if p.NumberMatched == nil || *p.NumberMatched != 10 {
			t.Fatalf("numberMatched %v", p.NumberMatched)
		}
		if n := p.next(); n != "" && !strings.Contains(n, "startRecord=") {
			t.Fatalf("next link %s", n)
		}
		for _, f := range p.Features {
			ids = append(ids, f.ID)
			if f.Properties["auth:schemes"] == nil {
				t.Errorf("%s lacks auth:schemes", f.ID)
			}
		}
		next = p.next()
	}
	if len(ids) != 10 || len(e.Items[ESALevel1b]) != 10 || len(e.Items[ESALevel2a]) != 1 {
		t.Fatalf("walked %d items; Items %v", len(ids), e.Items)
	}

	// Token: refresh grant with the offline token and the client secret, as ESA documents.
	grant := form("grant_type", "refresh_token", "client_id", e.ClientID, "client_secret", e.ClientSecret,
		"refresh_token", e.OfflineToken, "scope", "offline_access openid")
	r1 := postToken(t, c, e.TokenURL, grant, [2]string{})
	r2 := postToken(t, c, e.TokenURL, grant, [2]string{}) // the original offline token stays valid
	for _, r := range []tokenReply{r1, r2} {
		if r.status != 200 || r.body["refresh_expires_in"] != float64(0) || r.str("refresh_token") == "" || r.str("refresh_token") == e.OfflineToken {
			t.Fatalf("offline refresh: %d %v", r.status, r.body)
		}
	}
	if !strings.HasSuffix(e.TokenURL, "/realms/esa-maap/protocol/openid-connect/token") {
		t.Errorf("TokenURL %s", e.TokenURL)
	}
	if r := postToken(t, c, e.TokenURL, form("grant_type", "refresh_token", "client_id", e.ClientID, "refresh_token", e.OfflineToken), [2]string{}); r.status != 401 {
		t.Errorf("without the secret: %d %v", r.status, r.body)
	}
	tok := r1.str("access_token")

	// Data: bearer needed; file:size matches; Range works; the zipper streams without length.
	var it provItem
	id := e.Items[ESALevel1b][0]
	if code := getJSON(t, c, e.STACURL+"collections/"+ESALevel1b+"/items/"+id, nil, &it); code != 200 {
		t.Fatalf("item: %d", code)
	}
	tiff := it.Assets["enclosure_tiff"]
	if tiff.FileSize == nil || !strings.HasPrefix(tiff.Href, e.STAC.URL+"/data/biomass-pdgs/"+ESALevel1b+"/2025/07/03/"+id+"/"+id+"/measurement/") {
		t.Fatalf("enclosure_tiff %+v", tiff)
	}
	for _, k := range []string{"enclosure_annot_xml", "quicklook_png", "product"} {
		if it.Assets[k].Href == "" {
			t.Errorf("asset %s missing", k)
		}
	}
	for _, tc := range []struct {
		name   string
		href   string
		hdr    map[string]string
		status int
	}{
		{"tiff anonymous", tiff.Href, nil, 401},
		{"tiff bad token", tiff.Href, bearer("x.y.z"), 401},
		{"tiff", tiff.Href, bearer(tok), 200},
		{"tiff range", tiff.Href, map[string]string{"Authorization": "Bearer " + tok, "Range": "bytes=0-15"}, 206},
		{"zip anonymous", it.Assets["product"].Href, nil, 401},
		{"zip", it.Assets["product"].Href, bearer(tok), 200},
		{"quicklook", it.Assets["quicklook_png"].Href, bearer(tok), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, c, http.MethodGet, tc.href, nil, tc.hdr)
			if code != tc.status {
				t.Fatalf("status %d, want %d", code, tc.status)
			}
			switch {
			case code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer"):
				t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			case tc.name == "tiff" && int64(len(body)) != *tiff.FileSize:
				t.Errorf("%d bytes, file:size %d", len(body), *tiff.FileSize)
			case tc.name == "zip" && (h.Get("Content-Length") != "" || !bytes.HasPrefix(body, []byte("PK"))):
				t.Errorf("zip: Content-Length %q, %d bytes", h.Get("Content-Length"), len(body))
			}
		})
	}
	// An extra (ramp) product is served too.
	var gen provItem
	genID := e.Items[ESALevel1b][3]
	getJSON(t, c, e.STACURL+"collections/"+ESALevel1b+"/items/"+genID, nil, &gen)
	if code, _, body := do(t, c, http.MethodGet, gen.Assets["enclosure_tiff"].Href, nil, bearer(tok)); code != 200 || int64(len(body)) != *gen.Assets["enclosure_tiff"].FileSize {
		t.Errorf("generated product: %d, %d bytes", code, len(body))
	}

	// Lapse: the token stops working on data, a refresh with the offline token brings it back.
	e.Token.ExpireAccessTokens()
	if code, _, _ := do(t, c, http.MethodGet, tiff.Href, nil, bearer(tok)); code != 401 {
		t.Errorf("expired token: %d", code)
	}
	tok = postToken(t, c, e.TokenURL, grant, [2]string{}).str("access_token")
	if code, _, _ := do(t, c, http.MethodGet, tiff.Href, nil, bearer(tok)); code != 200 {
		t.Errorf("after refresh: %d", code)
	}
	// Revocation ends the offline token too (default).
	e.Token.RevokeAll()
	if r := postToken(t, c, e.TokenURL, grant, [2]string{}); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Errorf("after RevokeAll: %d %v", r.status, r.body)
	}
	checkNoAuthOutside(t, e.Logs(), map[string][]string{"stac": {"/data/"}})
	if len(e.Logs()) != 2 {
		t.Errorf("Logs: %d", len(e.Logs()))
	}
}

func TestTerrascope(t *testing.T) {
	ts := NewTerrascope(TerrascopeOptions{})
	t.Cleanup(ts.Close)
	c := noRedirectClient(t)

	// The anonymous collection pages by token and ends with an empty page.
	var pages []provPage
	next := ts.STACURL + "collections/" + TerrascopePublic + "/items"
	for next != "" && len(pages) < 10 {
		var p provPage
		if code := getJSON(t, c, next, nil, &p); code != 200 {
			t.Fatalf("GET %s: %d", next, code)
		}
		pages = append(pages, p)
		next = p.next()
	}
	if len(pages) != 2 || len(pages[0].Features) != 2 || len(pages[1].Features) != 0 {
		t.Fatalf("pages: %d", len(pages))
	}
	it := pages[0].Features[0]
	var href string
	for k, a := range it.Assets {
		if strings.HasSuffix(k, "_NDVI_20M.tif") {
			href = a.Href
		}
		if a.FileSize != nil {
			t.Errorf("%s has file:size", k)
		}
	}
	if !strings.HasPrefix(href, ts.DownloadURL+"/download/Sentinel2/NDVI_V2/2024/") || it.Properties["datetime"] != nil {
		t.Fatalf("asset href %q, datetime %v", href, it.Properties["datetime"])
	}

	// Login with the password grant on the public client.
	login := form("grant_type", "password", "client_id", ts.ClientID, "username", ts.Username, "password", ts.Password)
	r := postToken(t, c, ts.TokenURL, login, [2]string{})
	if r.status != 200 || r.body["expires_in"] != float64(300) || r.body["refresh_expires_in"] != float64(1800) {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	if !strings.Contains(ts.TokenURL, "/auth/realms/terrascope/protocol/openid-connect/token") {
		t.Errorf("TokenURL %s", ts.TokenURL)
	}
	tok := r.str("access_token")

	// The protected collection needs the token on the API.
	protItems := ts.STACURL + "collections/" + TerrascopeProtected + "/items"
	for _, tc := range []struct {
		name   string
		url    string
		hdr    map[string]string
		status int
		n      int // features, when 200
	}{
		{"protected items anonymous", protItems, nil, 401, 0},
		{"protected collection anonymous", ts.STACURL + "collections/" + TerrascopeProtected, nil, 401, 0},
		{"protected items", protItems, bearer(tok), 200, 2},
		{"protected search anonymous", ts.STACURL + "search?collections=" + TerrascopeProtected, nil, 401, 0},
		{"search all anonymous hides protected", ts.STACURL + "search?limit=10", nil, 200, 2},
		{"search all with token", ts.STACURL + "search?limit=10", bearer(tok), 200, 4},
		{"public with a bad token still open", ts.STACURL + "collections/" + TerrascopePublic, bearer("bad"), 200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p provPage
			code := getJSON(t, c, tc.url, tc.hdr, &p)
			if code != tc.status || (code == 200 && len(p.Features) != tc.n) {
				t.Fatalf("status %d (%d features), want %d (%d)", code, len(p.Features), tc.status, tc.n)
			}
		})
	}

	// Downloads: redirect to the login page without a valid token.
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"no token", nil, 302},
		{"bad token", bearer("nope"), 302},
		{"token", bearer(tok), 200},
	} {
		t.Run("download "+tc.name, func(t *testing.T) {
			code, h, body := do(t, c, http.MethodGet, href, nil, tc.hdr)
			if code != tc.status {
				t.Fatalf("status %d, want %d", code, tc.status)
			}
			if code == 302 {
				loc := h.Get("Location")
				if !strings.HasPrefix(loc, ts.Token.Origin+"/auth/realms/terrascope/protocol/openid-connect/auth?") {
					t.Fatalf("Location %s", loc)
				}
				code, h, _ := do(t, c, http.MethodGet, loc, nil, nil)
				if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
					t.Fatalf("login page %d %s", code, h.Get("Content-Type"))
				}
			} else if !bytes.Equal(body, demoNDVI) {
				t.Error("wrong bytes")
			}
		})
	}

	// Rotation: each refresh token works once; after the reuse the password logs in again.
	rt := r.str("refresh_token")
	r2 := postToken(t, c, ts.TokenURL, form("grant_type", "refresh_token", "client_id", ts.ClientID, "refresh_token", rt), [2]string{})
	r3 := postToken(t, c, ts.TokenURL, form("grant_type", "refresh_token", "client_id", ts.ClientID, "refresh_token", rt), [2]string{})
	if r2.status != 200 || r3.status != 400 || r3.str("error") != "invalid_grant" {
		t.Fatalf("rotation: %d, then %d %v", r2.status, r3.status, r3.body)
	}
	// A stale token on downloads redirects again.
	ts.Token.ExpireAccessTokens()
	if code, _, _ := do(t, c, http.MethodGet, href, nil, bearer(r2.str("access_token"))); code != 302 {
		t.Errorf("stale token on download: %d", code)
	}
	checkNoAuthOutside(t, ts.Logs(), map[string][]string{"stac": {"/"}, "download": {"/download/"}})
	for _, r := range ts.Token.Requests() {
		if strings.HasSuffix(r.Path, "/openid-connect/auth") && r.Header.Get("Authorization") != "" {
			t.Error("login page got Authorization")
		}
	}
}

func TestEarthPlatform(t *testing.T) {
	ep := NewEarthPlatform(EarthPlatformOptions{MaxConcurrent: 2})
	t.Cleanup(ep.Close)
	c := newClient(t)

	// The whole API needs the token.
	if code, h, _ := do(t, c, http.MethodGet, ep.STACURL, nil, nil); code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("anonymous landing: %d", code)
	}
	cc := form("grant_type", "client_credentials")
	if r := postToken(t, c, ep.TokenURL, form("grant_type", "client_credentials", "client_id", ep.ClientID, "client_secret", ep.ClientSecret), [2]string{}); r.status != 400 || r.str("error") != "invalid_client" {
		t.Errorf("form auth on a Basic-only endpoint: %d %v", r.status, r.body)
	}
	r := postToken(t, c, ep.TokenURL, cc, [2]string{ep.ClientID, ep.ClientSecret})
	if r.status != 200 || len(r.body) != 3 || r.body["expires_in"] != float64(3600) || !strings.HasSuffix(ep.TokenURL, "/oauth2/token") {
		t.Fatalf("token: %d %v", r.status, r.body)
	}
	tok := r.str("access_token")
	if code, _, _ := do(t, c, http.MethodGet, ep.STACURL, nil, bearer(tok)); code != 200 {
		t.Fatalf("landing with token: %d", code)
	}

	search := ep.STACURL + "search?collections=" + EarthPlatformSentinel2
	for _, tc := range []struct {
		name   string
		url    string
		hdr    map[string]string
		signed bool
	}{
		{"search plain", search, nil, false},
		{"search signed", search, map[string]string{EarthPlatformSignHeader: "True"}, true},
		{"search signed lower-case", search, map[string]string{EarthPlatformSignHeader: "true"}, true},
		{"items list plain", ep.STACURL + "collections/" + EarthPlatformSentinel2 + "/items", nil, false},
		{"single item", ep.STACURL + "collections/" + EarthPlatformSentinel2 + "/items/" + ep.Items[EarthPlatformSentinel2][0], nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := bearer(tok)
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			var items []provItem
			if strings.Contains(tc.url, "/items/") {
				var it provItem
				if code := getJSON(t, c, tc.url, hdr, &it); code != 200 {
					t.Fatalf("status %d", code)
				}
				items = []provItem{it}
			} else {
				var p provPage
				if code := getJSON(t, c, tc.url, hdr, &p); code != 200 {
					t.Fatalf("status %d", code)
				}
				items = p.Features
			}
			if len(items) == 0 {
				t.Fatal("no items")
			}
			for _, it := range items {
				for k, a := range it.Assets {
					if !strings.HasPrefix(a.Href, "s3://earthdaily-eds-fakestac/_PUBLIC/") || a.FileSize == nil {
						t.Fatalf("%s/%s: href %s, file:size %v", it.ID, k, a.Href, a.FileSize)
					}
					alt := a.Alternate["download"]["href"]
					if (alt != "") != tc.signed {
						t.Fatalf("%s/%s: alternate %q, want signed %v", it.ID, k, alt, tc.signed)
					}
					if alt == "" || k != "red" {
						continue
					}
					code, _, body := do(t, c, http.MethodGet, alt, nil, nil)
					if code != 200 || int64(len(body)) != *a.FileSize || !bytes.Equal(body, demoB04) {
						t.Fatalf("presigned GET: %d, %d bytes", code, len(body))
					}
					if code, _, _ := do(t, c, http.MethodGet, alt, nil, bearer(tok)); code != 400 {
						t.Fatalf("presigned GET with Authorization: %d, want 400", code)
					}
				}
			}
		})
	}

	// Rendering signs afresh: after Expire the old URL fails, a new render works.
	one := ep.STACURL + "collections/" + EarthPlatformMosaics + "/items/" + ep.Items[EarthPlatformMosaics][0]
	var before, after provItem
	getJSON(t, c, one, bearer(tok), &before)
	ep.Store.Expire()
	getJSON(t, c, one, bearer(tok), &after)
	old, fresh := before.Assets["nir"].Alternate["download"]["href"], after.Assets["nir"].Alternate["download"]["href"]
	if old == fresh {
		t.Fatal("the same URL after Expire")
	}
	if code, _, _ := do(t, c, http.MethodGet, old, nil, map[string]string{"Range": "bytes=0-99"}); code != 403 {
		t.Errorf("old URL: %d", code)
	}
	if code, _, body := do(t, c, http.MethodGet, fresh, nil, map[string]string{"Range": "bytes=100-199"}); code != 206 || !bytes.Equal(body, RampBytes(77, 100, 100)) {
		t.Errorf("new URL: %d", code)
	}

	// Expired API token: 401.
	ep.Token.ExpireAccessTokens()
	if code, _, _ := do(t, c, http.MethodGet, ep.STACURL, nil, bearer(tok)); code != 401 {
		t.Errorf("expired token: %d", code)
	}
	tok = postToken(t, c, ep.TokenURL, cc, [2]string{ep.ClientID, ep.ClientSecret}).str("access_token")

	// 429 beyond MaxConcurrent requests in flight.
	ep.STAC.SetFault(func(r *http.Request) *Fault {
		if r.Header.Get("X-Stall") != "" {
			return &Fault{Stall: 10 * time.Second}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	base := ep.STAC.Count(EarthPlatformPrefix)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ep.STACURL, nil)
			req.Header.Set("X-Stall", "1")
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ep.STAC.Count(EarthPlatformPrefix) < base+2; {
		if time.Now().After(deadline) {
			t.Fatal("stalled requests did not arrive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, h, _ := do(t, c, http.MethodGet, ep.STACURL, nil, bearer(tok))
	cancel()
	wg.Wait()
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("third concurrent request: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	ep.STAC.SetFault(nil)
	waitIdle(t, ep.STAC)
	if code, _, _ := do(t, c, http.MethodGet, ep.STACURL, nil, bearer(tok)); code != 200 {
		t.Errorf("after the burst: %d", code)
	}
	checkNoAuthOutside(t, ep.Logs(), map[string][]string{"stac": {EarthPlatformPrefix}, "token": {"/oauth2/token"}, "store": {"/_PUBLIC/"}})

	// Every store request that carried Authorization was one of the deliberate checks, and
	// was refused.
	for _, l := range ep.Logs() {
		if l.Name != "store" {
			continue
		}
		if len(l.WithAuthorization()) != 7 { // 3 items x 2 signed searches + 1 single item
			t.Errorf("store requests with Authorization: %d, want 7", len(l.WithAuthorization()))
		}
		for _, r := range l.WithAuthorization() {
			if r.Status != http.StatusBadRequest {
				t.Errorf("store answered %d to a request with Authorization", r.Status)
			}
		}
	}
}

// waitIdle waits until no request is in flight on s.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		s.mu.Lock()
		n := s.inflight
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("requests still in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEarthPlatformFormAuth(t *testing.T) {
	ep := NewEarthPlatform(EarthPlatformOptions{FormAuthOnly: true, AccessTTL: 2 * time.Second})
	t.Cleanup(ep.Close)
	c := newClient(t)
	if r := postToken(t, c, ep.TokenURL, form("grant_type", "client_credentials"), [2]string{ep.ClientID, ep.ClientSecret}); r.status != 400 {
		t.Errorf("Basic on a form-only endpoint: %d", r.status)
	}
	r := postToken(t, c, ep.TokenURL, form("grant_type", "client_credentials", "client_id", ep.ClientID, "client_secret", ep.ClientSecret), [2]string{})
	if r.status != 200 || r.body["expires_in"] != float64(2) {
		t.Fatalf("form auth: %d %v", r.status, r.body)
	}
}
