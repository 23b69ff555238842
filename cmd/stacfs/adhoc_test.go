package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestCommandLineCatalog: --url and --preset stand for a [catalogs.NAME]
// table, with or without a config file (checked end to end by check).
func TestCommandLineCatalog(t *testing.T) {
	pub := fakestac.New(fakestac.Options{SearchGET: true, SearchPOST: true, NumberMatched: true})
	defer pub.Close()
	day := time.Date(2024, 3, 14, 10, 0, 0, 0, time.UTC)
	pub.AddCollection(fakestac.Collection{ID: "s2"})
	pub.AddItem(fakestac.Item{ID: "S2B_1", Collection: "s2", Datetime: &day,
		Assets: map[string]fakestac.Asset{"B04": {Path: "/data/S2B_1/B04.tif", Size: 1000, Seed: 3}}})
	u, err := url.Parse(pub.STACURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(u.Host, ":", "_")

	cases := []struct {
		name    string
		home    string // the file at ~/.config/stacfs/config.toml; "" none
		args    []string
		status  int
		want    []string
		notWant []string
	}{
		{
			name: "url, no config file",
			args: []string{"--url", pub.STACURL}, status: 0,
			want: []string{"ok   catalog " + name + " from the command line (--url " + pub.STACURL + ")", "checks ok, 0 failed"},
		},
		{
			name: "url with the settings of a file without catalogs",
			home: "[cache]\nmemory = \"64MiB\"\n",
			args: []string{"--url", pub.STACURL, "--collections", "s2"}, status: 0,
			want: []string{"ok   catalog " + name, "0 failed"},
		},
		{
			name: "url beside the file's catalogs, one of them broken",
			home: "[catalogs.broken]\nurl = \"ftp://example.com/\"\n",
			args: []string{"--url", pub.STACURL}, status: 0,
			want: []string{"ok   catalog " + name, "0 failed"}, notWant: []string{"broken"},
		},
		{
			name:   "no config file, no catalog",
			status: 1,
			want:   []string{"config.toml: no such file", "stacfs mount --url", "--preset planetary-computer", "stacfs demo"},
		},
		{
			name: "a named config file must exist",
			args: []string{"--config", filepath.Join(t.TempDir(), "none.toml"), "--url", pub.STACURL}, status: 1,
			want: []string{"none.toml: no such file"}, notWant: []string{"stacfs demo"},
		},
		{
			name: "the collections URL pasted from a browser",
			args: []string{"--url", pub.STACURL + "collections"}, status: 1,
			want:    []string{"is a list of collections, not a STAC API landing page: use " + pub.STACURL},
			notWant: []string{"trying again"},
		},
		{name: "not an http URL", args: []string{"--url", "ftp://example.com/stac"}, status: 2, want: []string{`--url "ftp://example.com/stac": not an http(s) URL`}},
		{name: "unknown preset", args: []string{"--preset", "nasa"}, status: 2,
			want: []string{`--preset "nasa": unknown (want cdse, earthdata, earthplatform, esa-maap, planetary-computer, terrascope)`}},
		{name: "catalog and url", args: []string{"--catalog", "x", "--url", pub.STACURL}, status: 2, want: []string{"give one of them"}},
		{name: "collections alone", args: []string{"--collections", "s2"}, status: 2, want: []string{"--collections: give the catalog too"}},
		{name: "a preset without its credentials", args: []string{"--preset", "esa-maap"}, status: 1,
			want: []string{"--preset esa-maap: ", "credentials.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("STACFS_CONFIG", "")
			if c.home != "" {
				writeAt(t, filepath.Join(home, ".config", "stacfs", "config.toml"), c.home)
			}
			var out bytes.Buffer
			status := run(context.Background(), append([]string{"check"}, c.args...), &out, &out)
			text := out.String()
			if status != c.status {
				t.Errorf("exit status %d, want %d\n%s", status, c.status, text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, nw := range c.notWant {
				if strings.Contains(text, nw) {
					t.Errorf("output holds %q:\n%s", nw, text)
				}
			}
		})
	}
}

// TestPresetForURL: a provider's STAC API given as --url takes its preset
// (Planetary Computer's blobs need SAS signing, Earthdata its token).
func TestPresetForURL(t *testing.T) {
	cases := map[string]string{
		"https://planetarycomputer.microsoft.com/api/stac/v1":  "planetary-computer",
		"https://planetarycomputer.microsoft.com/api/stac/v1/": "planetary-computer",
		"https://PlanetaryComputer.microsoft.com/api/stac/v1":  "planetary-computer",
		"https://stac.dataspace.copernicus.eu/v1":              "cdse",
		"https://cmr.earthdata.nasa.gov/stac/LPCLOUD":          "earthdata",
		"https://catalog.maap.eo.esa.int/catalogue":            "esa-maap",
		"https://stac.terrascope.be":                           "terrascope",
		"https://earth-search.aws.element84.com/v1":            "",
		"https://cmr.earthdata.nasa.gov/search":                "",
		"http://planetarycomputer.microsoft.com/api/stac/v1":   "",
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := presetForURL(u); got != want {
			t.Errorf("presetForURL(%s) = %q, want %q", raw, got, want)
		}
	}
}

func writeAt(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
