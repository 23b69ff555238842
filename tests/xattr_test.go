package tests

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stacfs/stacfs/fakestac"
)

// getfattrDump runs `getfattr -d` on path and returns the user attributes.
func getfattrDump(t *testing.T, path string) map[string]string {
	t.Helper()
	out := run(t, "getfattr", "--absolute-names", "-d", "-e", "text", path)
	attrs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, quoted, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("getfattr line %q", line)
		}
		v, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("getfattr value %q: %v", quoted, err)
		}
		attrs[name] = v
	}
	return attrs
}

func TestXattr(t *testing.T) {
	requireTool(t, "getfattr")
	f := newFixture(t, fakestac.Options{})
	// An item with a signed https href and an s3:// href.
	signed := fakestac.Item{
		ID: "S2_signed", Collection: "S2", Datetime: ts("2023-03-20T08:00:00Z"), Bbox: []float64{-1.5, 40.25, 0.5, 41},
		Assets: map[string]fakestac.Asset{
			"B04": {Path: "/data/signed/B04.tif", Href: f.srv.Href("/data/signed/B04.tif") + "?X-Amz-Signature=deadbeef&X-Amz-Expires=3600&X-Amz-Credential=AKIA",
				Title: "Red", Roles: []string{"data", "reflectance"}, Size: 1000, Seed: 5, FileSize: true},
			"B08": {Href: "s3://bucket/signed/B08.tif", Size: 1000, FileSize: true},
		},
	}
	f.srv.AddItem(signed)
	m := startMount(t, configFor(f.srv, ""))

	it := f.items["S2A_20230315_a"]
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	asset := filepath.Join(item, "B04.tif")
	for _, p := range []string{item, asset} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	before := f.srv.Count("/")

	t.Run("item", func(t *testing.T) {
		got := getfattrDump(t, item)
		want := map[string]string{
			"user.stac.id":         it.ID,
			"user.stac.collection": "S2",
			"user.stac.datetime":   it.Datetime.UTC().Format(time.RFC3339Nano),
			"user.stac.bbox":       "3,50,4,51",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("getfattr -d %s = %q, want %q", item, got, want)
		}
		if want := "2023-03-15T10:20:30.123456Z"; got["user.stac.datetime"] != want {
			t.Errorf("datetime %q, want %q", got["user.stac.datetime"], want)
		}
	})
	t.Run("asset", func(t *testing.T) {
		got := getfattrDump(t, asset)
		a := it.Assets["B04"]
		want := map[string]string{
			"user.stac.href":  f.srv.Href(a.Path),
			"user.stac.key":   "B04",
			"user.stac.type":  a.Type,
			"user.stac.roles": "data",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("getfattr -d %s = %q, want %q", asset, got, want)
		}
	})
	t.Run("sub-folders and item.json have none", func(t *testing.T) {
		for _, p := range []string{filepath.Join(m.Dir, "S2/2023"), filepath.Join(item, "item.json")} {
			if got := getfattrDump(t, p); len(got) != 0 {
				t.Errorf("%s: %q, want no attributes", p, got)
			}
		}
	})
	if after := f.srv.Count("/"); after != before {
		t.Errorf("listing and reading attributes made %d requests", after-before)
	}

	t.Run("signed href", func(t *testing.T) {
		dir := filepath.Join(m.Dir, "S2/2023/03/20/S2_signed")
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]map[string]string{}
		for _, e := range ents {
			if e.Name() != "item.json" {
				a := getfattrDump(t, filepath.Join(dir, e.Name()))
				got[a["user.stac.key"]] = a
			}
		}
		if h := got["B04"]["user.stac.href"]; h != f.srv.Href("/data/signed/B04.tif") || strings.Contains(h, "?") {
			t.Errorf("B04 href %q: want %q, without query", h, f.srv.Href("/data/signed/B04.tif"))
		}
		if got["B04"]["user.stac.title"] != "Red" || got["B04"]["user.stac.roles"] != "data,reflectance" {
			t.Errorf("B04 attributes %q", got["B04"])
		}
		if _, ok := got["B04"]["user.stac.type"]; ok {
			t.Errorf("empty type shown: %q", got["B04"])
		}
		if h := got["B08"]["user.stac.href"]; h != "s3://bucket/signed/B08.tif" {
			t.Errorf("B08 href %q", h)
		}
		if b := getfattrDump(t, dir)["user.stac.bbox"]; b != "-1.5,40.25,0.5,41" {
			t.Errorf("bbox %q", b)
		}
	})

	t.Run("errors", func(t *testing.T) {
		buf := make([]byte, 2)
		if _, err := unix.Getxattr(asset, "user.stac.key", buf); !errors.Is(err, syscall.ERANGE) {
			t.Errorf("getxattr into a small buffer: %v, want ERANGE", err)
		}
		if n, err := unix.Getxattr(asset, "user.stac.key", nil); err != nil || n != 3 {
			t.Errorf("getxattr size = %d, %v; want 3", n, err)
		}
		if _, err := unix.Getxattr(asset, "user.stac.nope", make([]byte, 64)); !errors.Is(err, unix.ENODATA) {
			t.Errorf("getxattr unknown: %v, want ENODATA", err)
		}
		for _, p := range []string{asset, item} {
			if err := unix.Setxattr(p, "user.x", []byte("1"), 0); !errors.Is(err, syscall.EROFS) {
				t.Errorf("setxattr %s: %v, want EROFS", p, err)
			}
			if err := unix.Removexattr(p, "user.stac.key"); !errors.Is(err, syscall.EROFS) {
				t.Errorf("removexattr %s: %v, want EROFS", p, err)
			}
		}
	})
}

func TestCollectionJSON(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	p := filepath.Join(m.Dir, "S2/collection.json")
	sameJSONAsAPI(t, p, f.srv.STACURL+"collections/S2")
	got, _ := os.ReadFile(p)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o444 || fi.Size() != int64(len(got)) {
		t.Errorf("collection.json: mode %v size %d", fi.Mode(), fi.Size())
	}
	if want := *ts("2023-01-01T00:00:00Z"); !fi.ModTime().Equal(want) {
		t.Errorf("collection.json mtime %v, want %v", fi.ModTime().UTC(), want)
	}
	if err := os.WriteFile(p, []byte("{}"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write collection.json: %v, want EROFS", err)
	}
}
