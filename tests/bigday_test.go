package tests

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestBigDay: a day of 20 000 items lists in full (every name), the last
// item's item.json is the API's document (it comes from the listing's
// spool), and listing the day again makes no request.
func TestBigDay(t *testing.T) {
	t.Parallel()
	srv := fakestac.New(fakestac.Options{MaxLimit: 1000})
	t.Cleanup(srv.Close)
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := srv.AddBigDay(fakestac.BigDay{Collection: "BIG", Day: day, Items: 20000, ItemBytes: 3000})
	m := startMount(t, configFor(srv, ""))
	dir := filepath.Join(m.Dir, "BIG/2024/03/01")
	list := func() []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		return names
	}
	names := list()
	if len(names) != len(ids) {
		t.Fatalf("listed %d items, want %d", len(names), len(ids))
	}
	if !slices.Equal(names, ids) {
		for i := range names {
			if names[i] != ids[i] {
				t.Fatalf("entry %d is %s, want %s", i, names[i], ids[i])
			}
		}
	}
	last := ids[len(ids)-1]
	sameJSONAsAPI(t, filepath.Join(dir, last, "item.json"), srv.STACURL+"collections/BIG/items/"+last)
	n := srv.Count("/stac")
	if again := list(); !slices.Equal(again, names) {
		t.Error("the second listing differs")
	}
	if d := srv.Count("/stac") - n; d != 0 {
		t.Errorf("listing the day again made %d STAC requests, want 0", d)
	}
}
