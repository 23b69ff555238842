package fakestac

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

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
