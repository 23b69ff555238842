package catalog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

func TestContainerKinds(t *testing.T) {
	for _, tc := range []struct {
		typ, href string
		zip, zarr bool
	}{
		{"application/zip", "https://h/p/product", true, false},
		{"application/x-zip-compressed", "https://h/p/x.bin", true, false},
		{"", "https://h/p/S2A.SAFE.ZIP?sig=1", true, false},
		{"application/octet-stream", "https://h/download?file=x.zip", false, false},
		{"application/vnd+zarr", "https://h/p/product", false, true},
		{"application/vnd.zarr; version=3; profile=multiscales", "https://h/p/x", false, true},
		{"", "https://objects.example/S2B_MSIL2A.zarr", false, true},
		{"", "https://objects.example/S2B_MSIL2A.zarr/", false, true},
		{"image/tiff; application=geotiff", "https://h/p/B04.tif", false, false},
	} {
		a := &remote.Asset{Type: tc.typ, Href: tc.href}
		if IsZip(a) != tc.zip || IsZarr(a) != tc.zarr {
			t.Errorf("%q %q: zip %v zarr %v, want %v %v", tc.typ, tc.href, IsZip(a), IsZarr(a), tc.zip, tc.zarr)
		}
	}
}

func TestLayoutContainers(t *testing.T) {
	it := remote.Item{ID: "P", Assets: []remote.Asset{
		{Key: "product", Href: "https://h/P/P.SAFE.zip", Type: "application/zip", Size: -1},
		{Key: "taken", Href: "https://h/P/Q.zip", Size: -1},
		{Key: "q", Href: "https://h/P/Q/readme.txt", Size: -1},
		{Key: "bare", Href: "https://h/P/bundle", Type: "application/zip", Size: -1},
		{Key: "store", Href: "https://h/P/P.zarr/", Size: -1},
	}}
	root := Layout(it)
	var got []string
	var walk func(n *Node, pre string)
	walk = func(n *Node, pre string) {
		for _, c := range n.Children {
			switch {
			case c.Archive != nil:
				got = append(got, pre+c.Name+"/ (zip "+c.Archive.Key+")")
			case c.Store != nil:
				got = append(got, pre+c.Name+"/ (zarr "+c.Store.Key+")")
			case c.Dir:
				got = append(got, pre+c.Name+"/")
				walk(c, pre+c.Name+"/")
			default:
				got = append(got, pre+c.Name)
			}
		}
	}
	walk(root, "")
	want := []string{
		"P.SAFE/ (zip product)", "P.SAFE.zip", "P.zarr/ (zarr store)",
		"Q/", "Q/readme.txt", "Q.zip", "Q.zip.d/ (zip taken)",
		"bundle", "bundle.d/ (zip bare)", "item.json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPathTree(t *testing.T) {
	paths := []struct {
		p   string
		dir bool
	}{
		{"A.SAFE/", true},
		{"A.SAFE/manifest.safe", false},
		{"A.SAFE/GRANULE/x/IMG.jp2", false},
		{"../../etc/passwd", false},
		{"/abs/path.txt", false},
		{"a/./b//c.txt", false},
		{"dup", false},
		{"dup/inner.txt", false},
		{"nul\x00name", false},
		{"", false},
	}
	tree := PathTree(len(paths), func(i int) (string, bool) { return paths[i].p, paths[i].dir })
	var got []string
	var walk func(n *PathNode, pre string)
	walk = func(n *PathNode, pre string) {
		for _, c := range n.Children {
			if c.Dir {
				got = append(got, pre+c.Name+"/")
				walk(c, pre+c.Name+"/")
			} else {
				got = append(got, pre+c.Name+"="+paths[c.Index].p)
			}
		}
	}
	walk(tree, "")
	want := []string{
		"A.SAFE/", "A.SAFE/GRANULE/", "A.SAFE/GRANULE/x/", "A.SAFE/GRANULE/x/IMG.jp2=A.SAFE/GRANULE/x/IMG.jp2",
		"A.SAFE/manifest.safe=A.SAFE/manifest.safe",
		"_/", "_/_/", "_/_/etc/", "_/_/etc/passwd=../../etc/passwd",
		"_~2=", // the empty name

		"a/", "a/b/", "a/b/c.txt=a/./b//c.txt",
		"abs/", "abs/path.txt=/abs/path.txt",
		"dup=dup", "dup~2/", "dup~2/inner.txt=dup/inner.txt",
		"nul_name=nul\x00name",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tree:\n%q\nwant:\n%q", got, want)
	}
	if n := tree.Find([]string{"A.SAFE", "GRANULE", "x"}); n == nil || !n.Dir {
		t.Errorf("Find A.SAFE/GRANULE/x = %+v", n)
	}
	if n := tree.Find([]string{"nope"}); n != nil {
		t.Errorf("Find nope = %+v", n)
	}
}

func TestZipBase(t *testing.T) {
	cases := []struct {
		file, base string
		ok         bool
	}{
		{"S2A.SAFE.zip", "S2A.SAFE", true},
		{"P.ZIP", "P", true},
		{"..zip", ".", false}, // "." is not a usable folder name
		{"...zip", "..", false},
		{".zip", "", false},
		{"a", "", false}, // a zip by media type with a short name
		{"data.tar", "", false},
	}
	for _, c := range cases {
		base, ok := zipBase(c.file)
		if ok != c.ok || (ok && base != c.base) {
			t.Errorf("zipBase(%q) = %q, %v; want %q, %v", c.file, base, ok, c.base, c.ok)
		}
	}
}
