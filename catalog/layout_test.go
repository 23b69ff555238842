package catalog

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

// paths lists every file of a tree as slash paths, folders with a trailing slash.
func paths(n *Node, prefix string) []string {
	var out []string
	for _, c := range n.Children {
		if c.Dir {
			out = append(out, prefix+c.Name+"/")
			out = append(out, paths(c, prefix+c.Name+"/")...)
		} else {
			out = append(out, prefix+c.Name)
		}
	}
	return out
}

func TestLayout(t *testing.T) {
	esa := "https://catalog.example.org/data/maap/BiomassLevel1b/2025/07/01/BIO_S1_SCS__1S_X/BIO_S1_SCS__1S_X/"
	cases := []struct {
		name   string
		id     string
		assets map[string]string // key -> href
		types  map[string]string // key -> media type, where set
		want   []string
	}{
		{
			name: "esa product folder",
			id:   "BIO_S1_SCS__1S_X",
			assets: map[string]string{
				"enclosure_tiff":  esa + "measurement/bio_i_abs.tiff",
				"enclosure_nc":    esa + "annotation/bio_annot.nc",
				"quicklook_png":   esa + "preview/bio_ql.png",
				"enclosure_annot": esa + "annotation/bio_annot.xml",
				"product":         "https://catalog.example.org/data/zipper/BIO_S1_SCS__1S_X.zip",
			},
			want: []string{"BIO_S1_SCS__1S_X/", "BIO_S1_SCS__1S_X.zip", "annotation/", "annotation/bio_annot.nc", "annotation/bio_annot.xml", "item.json", "measurement/", "measurement/bio_i_abs.tiff", "preview/", "preview/bio_ql.png"},
		},
		{
			name: "cdse: OData $value hrefs named after their node, the product after the item",
			id:   "S2A_MSIL2A_X",
			assets: map[string]string{
				"B04":     "https://zipper.example.eu/odata/v1/Products(u1)/Nodes(S2A_MSIL2A_X.SAFE)/Nodes(GRANULE)/Nodes(B04.jp2)/$value",
				"Product": "https://download.example.eu/odata/v1/Products(u1)/$value",
				"QL":      "https://download.example.eu/odata/v1/Products(u1)/Quicklook/$value",
			},
			types: map[string]string{"Product": "application/zip"},
			want:  []string{"B04.jp2", "QL", "S2A_MSIL2A_X/", "S2A_MSIL2A_X.zip", "item.json"},
		},
		{
			name: "terrascope: files in the product folder, keys are file names",
			id:   "S2A_20230220T074941_38SKG_TOC_V210",
			assets: map[string]string{
				"S2A_B02.tif": "https://services.example.be/download/S2/2023/02/20/S2A_20230220T074941_38SKG_TOC_V210/S2A_B02.tif",
				"S2A_B03.tif": "https://services.example.be/download/S2/2023/02/20/S2A_20230220T074941_38SKG_TOC_V210/S2A_B03.tif",
			},
			want: []string{"S2A_B02.tif", "S2A_B03.tif", "item.json"},
		},
		{
			name: "no folder named after the item: common prefix",
			id:   "item1",
			assets: map[string]string{
				"a": "https://h/x/y/r10m/B02.tif",
				"b": "https://h/x/y/r20m/B05.tif",
			},
			want: []string{"item.json", "r10m/", "r10m/B02.tif", "r20m/", "r20m/B05.tif"},
		},
		{
			name:   "single asset by file name",
			id:     "it",
			assets: map[string]string{"data": "https://h/it/deep/er/file.nc"},
			want:   []string{"file.nc", "item.json"},
		},
		{
			name: "different hosts: file names",
			id:   "it",
			assets: map[string]string{
				"data":      "https://a/p/q/B01.tif",
				"thumbnail": "https://b/p/q/thumb.jpg",
			},
			want: []string{"B01.tif", "item.json", "thumb.jpg"},
		},
		{
			name: "collision falls back to the key",
			id:   "it",
			assets: map[string]string{
				"red":   "https://a/x/data.tif",
				"green": "https://b/y/data.tif",
			},
			want: []string{"data.tif", "item.json", "red"},
		},
		{
			name: "item.json is reserved; query strings ignored; escapes decoded",
			id:   "it",
			assets: map[string]string{
				"meta": "https://a/x/item.json",
				"sig":  "https://b/y/my%20file.tif?X-Amz-Signature=abc",
			},
			want: []string{"item.json", "meta", "my file.tif"},
		},
		{
			name: "unusable names",
			id:   "it",
			assets: map[string]string{
				"dots":  "https://a/..",
				"../..": "https://a/",
			},
			want: []string{".._..", "dots", "item.json"},
		},
		{
			name: "s3 href keeps its path",
			id:   "S2_X",
			assets: map[string]string{
				"B01": "s3://bucket/S2_X/B01.tif",
				"B02": "s3://bucket/S2_X/B02.tif",
			},
			want: []string{"B01.tif", "B02.tif", "item.json"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := remote.Item{ID: c.id, Raw: []byte(`{}`)}
			for k, h := range c.assets {
				it.Assets = append(it.Assets, remote.Asset{Key: k, Href: h, Type: c.types[k], Size: -1})
			}
			sort.Slice(it.Assets, func(i, j int) bool { return it.Assets[i].Key > it.Assets[j].Key }) // order must not matter
			got := paths(Layout(it), "")
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("layout = %q\nwant      %q", got, c.want)
			}
			if again := paths(Layout(it), ""); !reflect.DeepEqual(again, got) {
				t.Error("layout not stable")
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"a/b", "a_b"},
		{"nul\x00x", "nul_x"},
		{".", ""},
		{"..", ""},
		{"", ""},
		{"bad\xffutf8", "bad_utf8"},
		{"EOP:ESA:Sentinel-2", "EOP:ESA:Sentinel-2"},
		{long, strings.Repeat("é", 127)}, // 254 bytes: no half rune
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUniqueNames(t *testing.T) {
	u := uniqueNames{}
	got := []string{u.take("a", "x"), u.take("a", "x"), u.take("a", "x"), u.take("..", "fb"), u.take("", "")}
	want := []string{"a", "a~2", "a~3", "fb", "_"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("x", 255)
	u.take(long, "")
	if n := u.take(long, ""); len(n) > 255 || !strings.HasSuffix(n, "~2") {
		t.Errorf("long duplicate = %d bytes %q", len(n), n[len(n)-4:])
	}
}
