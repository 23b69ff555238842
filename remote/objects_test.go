package remote

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

func TestHref(t *testing.T) {
	withS3 := &Objects{S3: &S3{}}
	noS3 := &Objects{}
	asset := func(href string, alts map[string]string) *Asset {
		return &Asset{Key: "B04", Href: href, Alternates: alts}
	}
	tests := []struct {
		name string
		o    *Objects
		pref []string
		a    *Asset
		want string // "" for none
	}{
		{"https href", withS3, nil, asset("https://h/a.tif", map[string]string{"s3": "s3://b/a.tif"}), "https://h/a.tif"},
		{"s3 href readable", withS3, nil, asset("s3://b/a.tif", map[string]string{"https": "https://h/a.tif"}), "s3://b/a.tif"},
		{"s3 href, no S3: the https alternate", noS3, nil, asset("s3://b/a.tif", map[string]string{"x": "https://h/a.tif"}), "https://h/a.tif"},
		{"download alternate first", noS3, nil, asset("s3://b/a.tif", map[string]string{"a": "https://h/1", "download": "https://h/2"}), "https://h/2"},
		{"alternates by name", noS3, nil, asset("s3://b/a.tif", map[string]string{"z": "https://h/z", "m": "http://h/m"}), "http://h/m"},
		{"prefer s3 over the https href", withS3, []string{"s3", "https"}, asset("https://h/a.tif", map[string]string{"s3": "s3://b/a.tif"}), "s3://b/a.tif"},
		{"prefer https over the s3 href", withS3, []string{"https", "s3"}, asset("s3://b/a.tif", map[string]string{"https": "https://h/a.tif"}), "https://h/a.tif"},
		{"prefer s3, none readable: the href", noS3, []string{"s3"}, asset("https://h/a.tif", map[string]string{"s3": "s3://b/a.tif"}), "https://h/a.tif"},
		{"prefer http matches https", withS3, []string{"http"}, asset("s3://b/a.tif", map[string]string{"https": "https://h/a.tif"}), "https://h/a.tif"},
		{"gs href", noS3, nil, asset("gs://gcp-public-data/x.tif", nil), "gs://gcp-public-data/x.tif"},
		{"nothing readable", noS3, nil, asset("s3://b/a.tif", map[string]string{"local": "/data/a.tif", "bad": "s3://nokey"}), ""},
		{"malformed s3 href skipped", withS3, nil, asset("s3://bucket-only", map[string]string{"https": "https://h/a.tif"}), "https://h/a.tif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := *tt.o
			o.Prefer = tt.pref
			got, ok := o.Href(tt.a)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Href = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestObjectsGS: gs://bucket/key is read anonymously from the GCS endpoint, never with the
// catalog's token.
func TestObjectsGS(t *testing.T) {
	f := fakestac.New(fakestac.Options{AssetsOnly: true})
	defer f.Close()
	f.AddAsset(fakestac.Asset{Path: "/gcp-public-data-landsat/LC08/01/a b.TIF", Size: 70_000, Seed: 4})
	c := &Client{Auth: &Auth{}} // an Auth that Objects must not hand to gs:// reads
	o := NewObjects(c, nil, nil, nil)
	o.GSEndpoint = f.URL
	if o.Public.Auth != nil {
		t.Fatal("the gs:// client carries the catalog's Auth")
	}
	ctx := context.Background()
	u := "gs://gcp-public-data-landsat/LC08/01/a b.TIF"
	p := make([]byte, 10_000)
	if n, err := o.ReadAt(ctx, u, p, 60_000, ""); err != nil || n != len(p) || !bytes.Equal(p, fakestac.RampBytes(4, 60_000, 10_000)) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if _, info, err := o.ReadHead(ctx, u, 100); err != nil || info.Size != 70_000 {
		t.Fatalf("ReadHead = %+v, %v", info, err)
	}
	rc, _, err := o.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || !bytes.Equal(all, fakestac.RampBytes(4, 0, 70_000)) {
		t.Fatalf("Open: %d bytes, %v", len(all), err)
	}
	for _, r := range f.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Authorization sent to the GCS endpoint: %+v", r)
		}
	}
	if _, err := o.ReadAt(ctx, "s3://b/k", p, 0, ""); err == nil {
		t.Error("s3:// read without an S3 reader succeeded")
	}
	if st, err := o.Stat(ctx, u); err != nil || st.Size != 70_000 {
		t.Errorf("Stat = %+v, %v", st, err)
	}
}
