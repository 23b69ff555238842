package remote

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseItem: any bytes give an item or an error, never a panic, and a
// parsed item keeps its exact bytes and UTC time.
func FuzzParseItem(f *testing.F) {
	f.Add(fixture(f, "terrascope_item_s2_toc_v210_testresource.json"))
	f.Add(fixture(f, "esa_maap_item_auth_extension_example_ceos_bp.json"))
	f.Add([]byte(`{"id":"a","properties":{"datetime":null,"start_datetime":"2024-01-01T00:00:00.5+02:00"},"assets":{"x":{"href":"s3://b/k","file:size":-5,"alternate":{"download":{"href":"https://h/k?sig=1"}}}}}`))
	f.Add([]byte(`{"id":"\u0000/..","assets":{"":{"href":""}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := ParseItem(raw)
		if err != nil {
			return
		}
		if string(it.Raw) != string(raw) && !json.Valid(it.Raw) {
			t.Fatalf("Raw is not the item's JSON")
		}
		if !it.Time.IsZero() && it.Time.Location().String() != "UTC" {
			t.Fatalf("time not in UTC: %v", it.Time)
		}
		for i := 1; i < len(it.Assets); i++ {
			if it.Assets[i-1].Key > it.Assets[i].Key {
				t.Fatalf("assets not sorted")
			}
		}
	})
}

// FuzzNextLink: any page and next link give a request or an error, never a
// panic; merged POST bodies stay JSON objects.
func FuzzNextLink(f *testing.F) {
	f.Add([]byte(`{"features":[],"links":[{"rel":"next","href":"search?token=x"}]}`), []byte(`{"limit":1}`))
	f.Add([]byte(`{"links":[{"rel":"next","href":"/search","method":"POST","body":{"next":"c"},"merge":true}]}`), []byte(`{"collections":["a"]}`))
	f.Add([]byte(`{"links":[{"rel":"next","href":"https://other/x","method":"post","body":[1],"merge":true,"headers":{"a":["b"]}}]}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, page, prevBody []byte) {
		var d pageDoc
		if json.Unmarshal(page, &d) != nil {
			return
		}
		_ = d.matched()
		l := d.next()
		if l == nil {
			return
		}
		base, _ := url.Parse("https://stac.example.org/api/search")
		req, err := nextRequest(stacRequest{method: "POST", url: base.String(), body: prevBody}, l, base)
		if err != nil {
			return
		}
		if req.method == "POST" && len(req.body) > 0 && !json.Valid(req.body) {
			t.Fatalf("invalid JSON body %q", req.body)
		}
	})
}

// FuzzScope: the token never goes to another origin, over an https->http
// downgrade, or to a signed URL, whatever the URL.
func FuzzScope(f *testing.F) {
	f.Add("https://stac.example.org/api/", "downloads.example.org", "https://downloads.example.org/a")
	f.Add("https://stac.example.org/", "h:8443", "https://STAC.example.org.:443/x?X-Amz-Signature=1")
	f.Add("http://127.0.0.1:8080/", "", "http://127.0.0.1:8081/")
	f.Add("https://a/", "https://b:9443", "http://b:9443/")
	f.Fuzz(func(t *testing.T, catalog, host, target string) {
		s, err := NewScope(catalog, []string{host})
		if err != nil {
			return
		}
		u, err := url.Parse(target)
		if err != nil || !s.Allows(u) {
			return
		}
		if Presigned(u) {
			t.Fatalf("token allowed on a signed URL %q", target)
		}
		cu, _ := url.Parse(catalog)
		if strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(cu.Scheme, "http") {
			t.Fatalf("token allowed over http for an https catalog: %q", target)
		}
		if u.Host == "" {
			t.Fatalf("token allowed on a URL without host: %q", target)
		}
	})
}

// FuzzContentRange never panics and returns consistent numbers.
func FuzzContentRange(f *testing.F) {
	f.Add("bytes 0-99/100")
	f.Add("bytes */0")
	f.Add("bytes 5-1/3")
	f.Fuzz(func(t *testing.T, s string) {
		first, last, total, err := parseContentRange(s)
		if err != nil {
			return
		}
		if first < 0 || last < first || (total >= 0 && last >= total) {
			t.Fatalf("%q -> %d-%d/%d accepted", s, first, last, total)
		}
	})
}
