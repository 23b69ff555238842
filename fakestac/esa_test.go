package fakestac

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

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
