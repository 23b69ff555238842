package remote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckLandingShape: real landing pages pass; the other STAC documents
// a user may paste as the catalog URL fail with what they are and which URL
// to use (recorded responses of Earth Search and Planetary Computer).
func TestCheckLandingShape(t *testing.T) {
	static := `{"type":"Catalog","id":"cat","stac_version":"1.0.0","description":"d",
		"links":[{"rel":"root","href":"./catalog.json"},{"rel":"child","href":"./a/collection.json"}]}`
	cases := []struct {
		name, url, file, text string
		want                  []string // parts of the error; none: passes
	}{
		{name: "Earth Search landing", url: "https://earth-search.aws.element84.com/v1", file: "earthsearch_v1_landing_response.json"},
		{name: "Planetary Computer landing", url: "https://planetarycomputer.microsoft.com/api/stac/v1", file: "planetarycomputer_landing_response.json"},
		{name: "landing without conformance or links", url: "http://h/stac/", text: `{"id":"x"}`},
		{name: "collections list", url: "https://earth-search.aws.element84.com/v1/collections", file: "earthsearch_v1_collections_response.json",
			want: []string{"v1/collections is a list of collections, not a STAC API landing page: use https://earth-search.aws.element84.com/v1/"}},
		{name: "a collection", url: "https://planetarycomputer.microsoft.com/api/stac/v1/collections/landsat-c2-l2", file: "planetarycomputer_collection_landsat-c2-l2_response.json",
			want: []string{"is a collection, not a STAC API landing page", "https://planetarycomputer.microsoft.com/api/stac/v1", `collections = ["landsat-c2-l2"]`}},
		{name: "an item", url: "https://planetarycomputer.microsoft.com/api/stac/v1/collections/c/items/i", file: "planetarycomputer_item_get_response.json",
			want: []string{"is an item, not a STAC API landing page"}},
		{name: "a search page", url: "https://planetarycomputer.microsoft.com/api/stac/v1/search", file: "planetarycomputer_search_post_page1_response.json",
			want: []string{"is a list of items"}},
		{name: "a static catalog", url: "https://example.org/catalog.json", text: static,
			want: []string{"is a static STAC catalog", "stacfs needs a STAC API"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.text)
			if c.file != "" {
				var err error
				if raw, err = os.ReadFile(filepath.Join("testdata", c.file)); err != nil {
					t.Fatal(err)
				}
			}
			err := checkLandingShape(c.url, raw)
			if len(c.want) == 0 {
				if err != nil {
					t.Errorf("a landing page refused: %v", err)
				}
				return
			}
			var nl *NotLandingError
			if !errors.As(err, &nl) || !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v, want a NotLandingError (an ErrBadResponse)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
