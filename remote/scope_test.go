package remote

import (
	"net/url"
	"testing"
)

func TestScopeAllows(t *testing.T) {
	tests := []struct {
		name    string
		catalog string
		hosts   []string
		url     string
		want    bool
	}{
		{"catalog itself", "https://api.example.com/stac/", nil, "https://api.example.com/stac/search", true},
		{"catalog other path", "https://api.example.com/stac/", nil, "https://api.example.com/data/x.tif", true},
		{"default port explicit", "https://api.example.com/", nil, "https://api.example.com:443/x", true},
		{"catalog explicit default port", "https://api.example.com:443/", nil, "https://api.example.com/x", true},
		{"same host other port", "https://api.example.com/", nil, "https://api.example.com:8443/x", false},
		{"host case", "https://API.Example.com/", nil, "https://api.EXAMPLE.com/x", true},
		{"scheme case", "https://api.example.com/", nil, "HTTPS://api.example.com/x", true},
		{"trailing dot", "https://api.example.com/", nil, "https://api.example.com./x", true},
		{"http downgrade", "https://api.example.com/", nil, "http://api.example.com/x", false},
		{"http downgrade port 443", "https://api.example.com/", nil, "http://api.example.com:443/x", false},
		{"other host", "https://api.example.com/", nil, "https://evil.example.com/x", false},
		{"suffix host", "https://api.example.com/", nil, "https://api.example.com.evil.net/x", false},
		{"userinfo trick", "https://api.example.com/", nil, "https://api.example.com@evil.net/x", false},
		{"http catalog", "http://localhost:8080/", nil, "http://localhost:8080/x", true},
		{"http catalog default port", "http://local.test/", nil, "http://local.test:80/x", true},
		{"http catalog https same host", "http://local.test/", nil, "https://local.test/x", false},
		{"hosts bare", "https://api.example.com/", []string{"data.example.com"}, "https://data.example.com/x", true},
		{"hosts bare is https 443", "https://api.example.com/", []string{"data.example.com"}, "https://data.example.com:8443/x", false},
		{"hosts bare not http", "https://api.example.com/", []string{"data.example.com"}, "http://data.example.com/x", false},
		{"hosts with port", "https://api.example.com/", []string{"data.example.com:8443"}, "https://data.example.com:8443/x", true},
		{"hosts with port other port", "https://api.example.com/", []string{"data.example.com:8443"}, "https://data.example.com/x", false},
		{"hosts URL", "https://api.example.com/", []string{"https://Data.example.com:9000"}, "https://data.example.com:9000/x", true},
		{"hosts URL default port", "https://api.example.com/", []string{"https://data.example.com/"}, "https://data.example.com:443/x", true},
		{"hosts ipv6", "https://api.example.com/", []string{"[::1]:8443"}, "https://[::1]:8443/x", true},
		{"presigned S3 v4", "https://api.example.com/", nil, "https://api.example.com/x?X-Amz-Algorithm=AWS4&X-Amz-Credential=a&X-Amz-Signature=b", false},
		{"presigned S3 v4 lower case", "https://api.example.com/", nil, "https://api.example.com/x?x-amz-signature=b", false},
		{"presigned S3 v2", "https://api.example.com/", nil, "https://api.example.com/x?AWSAccessKeyId=a&Signature=s&Expires=1", false},
		{"presigned Azure SAS", "https://api.example.com/", nil, "https://api.example.com/x?sv=2021&se=2030&sp=r&sig=abc", false},
		{"presigned GCS", "https://api.example.com/", nil, "https://api.example.com/x?X-Goog-Algorithm=a&X-Goog-Signature=b", false},
		{"query not a signature", "https://api.example.com/", nil, "https://api.example.com/x?sig=1&page=2", true},
		{"signature alone", "https://api.example.com/", nil, "https://api.example.com/x?signature=abc", true},
		{"not http", "https://api.example.com/", nil, "s3://api.example.com/x", false},
		{"relative", "https://api.example.com/", nil, "/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScope(tt.catalog, tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Allows(u); got != tt.want {
				t.Errorf("Allows(%s) = %v, want %v (scope %v)", tt.url, got, tt.want, s.Origins())
			}
		})
	}
	var nilScope *Scope
	if nilScope.Allows(&url.URL{Scheme: "https", Host: "x"}) {
		t.Error("nil scope allows")
	}
}

func TestNewScopeErrors(t *testing.T) {
	tests := []struct {
		name    string
		catalog string
		hosts   []string
	}{
		{"relative catalog", "/stac", nil},
		{"s3 catalog", "s3://bucket/", nil},
		{"empty host", "https://api.example.com/", []string{""}},
		{"host with path", "https://api.example.com/", []string{"data.example.com/path"}},
		{"http host for https catalog", "https://api.example.com/", []string{"http://data.example.com"}},
		{"ftp host", "https://api.example.com/", []string{"ftp://data.example.com"}},
		{"host with query", "https://api.example.com/", []string{"https://data.example.com/?a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewScope(tt.catalog, tt.hosts); err == nil {
				t.Errorf("NewScope(%q, %q) accepted", tt.catalog, tt.hosts)
			}
		})
	}
}

func TestPresigned(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://b.s3.amazonaws.com/k?X-Amz-Signature=x", true},
		{"https://b.s3.amazonaws.com/k?X-AMZ-CREDENTIAL=x", true},
		{"https://b.s3.amazonaws.com/k?AWSAccessKeyId=a&Signature=s&x-amz-security-token=t&Expires=1", true},
		{"https://b.s3.amazonaws.com/k?Signature=s&Expires=1", true},
		{"https://b.s3.amazonaws.com/k?Signature=s", false},
		{"https://a.blob.core.windows.net/c/b?st=1&se=2&sp=r&sv=2021&sr=b&sig=x", true},
		{"https://a.blob.core.windows.net/c/b?sig=x", false},
		{"https://storage.googleapis.com/b/o?X-Goog-Signature=x", true},
		{"https://h/x", false},
		{"https://h/x?token=abc", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := Presigned(u); got != tt.want {
			t.Errorf("Presigned(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestUnsignedURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://b.s3.amazonaws.com/k/a.tif?X-Amz-Signature=x&X-Amz-Credential=c&X-Amz-Date=d", "https://b.s3.amazonaws.com/k/a.tif"},
		{"https://b/k?AWSAccessKeyId=a&Signature=s&Expires=1&x-amz-security-token=t", "https://b/k"},
		{"https://acct.blob.core.windows.net/c/a.tif?sv=1&se=2&sp=r&sr=b&sig=z", "https://acct.blob.core.windows.net/c/a.tif"},
		{"https://h/download?id=42&sig=z&format=tif", "https://h/download?format=tif&id=42"},
		{"https://user:pw@h/a#frag", "https://h/a"},
	}
	for _, c := range cases {
		if got := UnsignedURL(c.in); got != c.want {
			t.Errorf("UnsignedURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestScopeWildcardHosts(t *testing.T) {
	s, err := NewScope("https://cmr.earthdata.nasa.gov/stac/LPCLOUD", []string{"*.earthdatacloud.nasa.gov", "https://*.example.org:8443"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/x.tif", true},
		{"https://a.b.earthdatacloud.nasa.gov/x", true},
		{"https://DATA.ORNLDAAC.EARTHDATACLOUD.NASA.GOV/x", true},
		{"https://earthdatacloud.nasa.gov/x", false},      // the domain itself is not under *.
		{"https://evil-earthdatacloud.nasa.gov/x", false}, // a suffix of the label is not a subdomain
		{"https://data.earthdatacloud.nasa.gov.evil.example/x", false},
		{"http://data.lpdaac.earthdatacloud.nasa.gov/x", false}, // never over http
		{"https://data.lpdaac.earthdatacloud.nasa.gov:8443/x", false},
		{"https://data.lpdaac.earthdatacloud.nasa.gov/x?X-Amz-Signature=abc&X-Amz-Credential=k", false},
		{"https://h.example.org:8443/x", true},
		{"https://h.example.org/x", false},
		{"https://cmr.earthdata.nasa.gov/stac/LPCLOUD/search", true},
	} {
		u, _ := url.Parse(tc.url)
		if got := s.Allows(u); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
	for _, bad := range []string{"*.com", "*.127.0.0.1", "*."} {
		if _, err := NewScope("https://cmr.earthdata.nasa.gov/", []string{bad}); err == nil {
			t.Errorf("NewScope accepted the wildcard %q", bad)
		}
	}
}
