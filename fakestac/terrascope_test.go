package fakestac

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

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
