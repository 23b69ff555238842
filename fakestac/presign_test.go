package fakestac

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type s3ErrorBody struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func newTestStore(t *testing.T, o PresignOptions) *PresignStore {
	t.Helper()
	p := NewPresignStore(o)
	t.Cleanup(p.Close)
	p.AddObject(Asset{Path: "/_PUBLIC/c/2024/01/02/ID/ID_B04.TIF", Size: 100000, Seed: 9, Type: cogType})
	return p
}

const storeObj = "/_PUBLIC/c/2024/01/02/ID/ID_B04.TIF"

func TestPresignStore(t *testing.T) {
	p := newTestStore(t, PresignOptions{Bucket: "bkt"})
	c := newClient(t)
	fresh := p.Sign(storeObj, 0)
	tamper := func(u, k, v string) string {
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set(k, v)
		pu.RawQuery = q.Encode()
		return pu.String()
	}
	u, _ := url.Parse(fresh)
	for _, k := range []string{"AWSAccessKeyId", "Signature", "x-amz-security-token", "Expires"} {
		if u.Query().Get(k) == "" {
			t.Fatalf("signed URL %s lacks %s", fresh, k)
		}
	}
	if p.S3URI(storeObj) != "s3://bkt"+storeObj {
		t.Errorf("S3URI = %s", p.S3URI(storeObj))
	}
	for _, tc := range []struct {
		name   string
		method string
		url    string
		hdr    map[string]string
		status int
		code   string // S3 error code
		msg    string
		body   []byte
	}{
		{"get", "GET", fresh, nil, 200, "", "", RampBytes(9, 0, 100000)},
		{"range", "GET", fresh, map[string]string{"Range": "bytes=1000-1999"}, 206, "", "", RampBytes(9, 1000, 1000)},
		{"head", "HEAD", fresh, nil, 200, "", "", nil},
		{"authorization refused", "GET", fresh, map[string]string{"Authorization": "Bearer abc"}, 400, "InvalidArgument",
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified", nil},
		{"authorization refused on HEAD", "HEAD", fresh, map[string]string{"Authorization": "Bearer abc"}, 400, "", "", nil},
		{"unsigned", "GET", p.URL + storeObj, nil, 403, "AccessDenied", "Access Denied", nil},
		{"partly signed", "GET", p.URL + storeObj + "?Expires=1", nil, 403, "AccessDenied",
			"Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters", nil},
		{"bad signature", "GET", tamper(fresh, "Signature", "AAAA"), nil, 403, "SignatureDoesNotMatch", "", nil},
		{"longer expiry", "GET", tamper(fresh, "Expires", "9999999999"), nil, 403, "SignatureDoesNotMatch", "", nil},
		{"other path", "GET", strings.Replace(fresh, "B04", "B08", 1), nil, 403, "SignatureDoesNotMatch", "", nil},
		{"bad key", "GET", tamper(fresh, "AWSAccessKeyId", "AKIAOTHER"), nil, 403, "InvalidAccessKeyId", "", nil},
		{"bad token", "GET", tamper(fresh, "x-amz-security-token", "nope"), nil, 400, "InvalidToken", "", nil},
		{"expired", "GET", p.Sign(storeObj, -1), nil, 403, "AccessDenied", "Request has expired", nil},
		{"no such key", "GET", p.Sign("/nothing.tif", 0), nil, 404, "NoSuchKey", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, c, tc.method, tc.url, nil, tc.hdr)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			if tc.code != "" {
				var e s3ErrorBody
				if err := xml.Unmarshal(body, &e); err != nil || e.Code != tc.code || (tc.msg != "" && e.Message != tc.msg) {
					t.Fatalf("body %s (%v), want %s %q", body, err, tc.code, tc.msg)
				}
				if h.Get("Content-Type") != "application/xml" {
					t.Errorf("Content-Type %q", h.Get("Content-Type"))
				}
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body differs (%d bytes)", len(body))
			}
			if code < 300 && (h.Get("ETag") == "" || (tc.method == "HEAD" && h.Get("Content-Length") != "100000")) {
				t.Errorf("headers %v", h)
			}
		})
	}
	// Conditional GET via ServeContent.
	_, h, _ := do(t, c, "GET", fresh, nil, nil)
	if code, _, _ := do(t, c, "GET", fresh, nil, map[string]string{"If-None-Match": h.Get("ETag")}); code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", code)
	}
	// Expire invalidates every issued URL at once; new ones work.
	p.Expire()
	code, _, body := do(t, c, "GET", fresh, nil, nil)
	var e s3ErrorBody
	_ = xml.Unmarshal(body, &e)
	if code != 403 || e.Message != "Request has expired" {
		t.Errorf("after Expire: %d %s", code, body)
	}
	if code, _, _ := do(t, c, "GET", p.Sign(storeObj, 0), nil, nil); code != 200 {
		t.Errorf("new URL after Expire: %d", code)
	}
	// The log keeps the headers.
	var sawAuth bool
	for _, r := range p.Requests() {
		if r.Header.Get("Authorization") == "Bearer abc" && r.Status == 400 {
			sawAuth = true
		}
	}
	if !sawAuth {
		t.Error("log lacks the refused Authorization request")
	}
}

func TestPresignStrictHEADAndRealExpiry(t *testing.T) {
	t.Parallel()
	p := newTestStore(t, PresignOptions{StrictHEAD: true, TTL: time.Second})
	c := newClient(t)
	u := p.Sign(storeObj, 0)
	if code, _, _ := do(t, c, "HEAD", u, nil, nil); code != 403 {
		t.Errorf("strict HEAD: %d, want 403", code)
	}
	if code, _, _ := do(t, c, "GET", u, nil, map[string]string{"Range": "bytes=0-0"}); code != 206 {
		t.Errorf("GET: %d, want 206", code)
	}
	time.Sleep(2100 * time.Millisecond)
	if code, _, _ := do(t, c, "GET", u, nil, nil); code != 403 {
		t.Errorf("after the TTL: %d, want 403", code)
	}
}
