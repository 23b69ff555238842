package fs

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/stacfs/stacfs/catalog"
)

// bigDayDir returns the folder of a stub day of n items.
func bigDayDir(t *testing.T, n int) (*dir, *stubSource) {
	t.Helper()
	src := &stubSource{}
	for i := range n {
		src.items = append(src.items, stubItem(fmt.Sprintf("item-%05d", i), map[string]int64{"data.tif": 100}))
	}
	cat := catalog.New(src, &stubReader{}, catalog.Options{Name: "t"})
	f := New(Options{Catalogs: []*catalog.Catalog{cat}, Single: true})
	col, err := cat.FindCollection(context.Background(), "C")
	if err != nil {
		t.Fatal(err)
	}
	l := dateDir{fs: f, cat: cat, col: col, year: 2024, month: 2, day: 29, path: "/C/2024/02/29"}
	return &dir{fs: f, path: l.path, l: l}, src
}

// TestLookupDoesNotRebuildListing: a lookup in a folder of 20 000 items
// finds its name without building the other children (the old code built
// all 20 000 per lookup: a READDIRPLUS of the folder was O(n²)), and a
// second listing builds nothing.
func TestLookupDoesNotRebuildListing(t *testing.T) {
	const n = 20000
	d, src := bigDayDir(t, n)
	ctx := context.Background()
	ds, errno := d.Readdir(ctx)
	if errno != 0 {
		t.Fatal(errno)
	}
	count := 0
	for ds.HasNext() {
		e, _ := ds.Next()
		if want := fmt.Sprintf("item-%05d", count); e.Name != want {
			t.Fatalf("entry %d: %s, want %s", count, e.Name, want)
		}
		count++
	}
	if count != n {
		t.Fatalf("listed %d, want %d", count, n)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		name := names[i%len(names)]
		i++
		if c, errno := d.find(ctx, name); errno != 0 || c.name != name {
			t.Fatalf("find %s: %v %v", name, c.name, errno)
		}
	})
	if allocs > 20 {
		t.Errorf("a lookup in a folder of %d costs %.0f allocations: it builds the listing", n, allocs)
	}
	if _, errno := d.find(ctx, "item-x"); errno != syscall.ENOENT {
		t.Errorf("missing name: %v, want ENOENT", errno)
	}
	allocs = testing.AllocsPerRun(20, func() {
		if _, errno := d.Readdir(ctx); errno != 0 {
			t.Fatal(errno)
		}
	})
	if allocs > 20 {
		t.Errorf("listing the folder again costs %.0f allocations: it rebuilds the entries", allocs)
	}
	if s := src.count(); s != 1 {
		t.Errorf("%d searches, want 1 (the listing is cached)", s)
	}
}

var names = func() []string {
	var out []string
	for i := 0; i < 20000; i += 97 {
		out = append(out, fmt.Sprintf("item-%05d", i))
	}
	return out
}()
