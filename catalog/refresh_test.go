package catalog

import (
	"context"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

// TestRefresh: a new item shows after Refresh of its folder (or one above
// it) without waiting for the TTL; other folders' listings stay cached.
func TestRefresh(t *testing.T) {
	src := &fakeSource{
		cols:  []remote.Collection{{ID: "C", Start: at("2024-01-01T00:00:00Z")}, {ID: "D", Start: at("2024-01-01T00:00:00Z")}},
		items: []remote.Item{{ID: "a", Collection: "C", Time: at("2024-03-14T10:00:00Z")}, {ID: "x", Collection: "D", Time: at("2024-03-14T10:00:00Z")}},
	}
	c, _ := newTestCatalog(src, at("2024-06-01T00:00:00Z"))
	ctx := context.Background()
	colC, _ := c.FindCollection(ctx, "C")
	colD, _ := c.FindCollection(ctx, "D")
	list := func() (days []int, items int, itemsD int) {
		t.Helper()
		days, err := c.Days(ctx, colC, 2024, 3)
		if err != nil {
			t.Fatal(err)
		}
		its, err := c.Items(ctx, colC, 2024, 3, 14)
		if err != nil {
			t.Fatal(err)
		}
		itsD, err := c.Items(ctx, colD, 2024, 3, 14)
		if err != nil {
			t.Fatal(err)
		}
		return days, len(its), len(itsD)
	}
	list()
	// Published meanwhile: another item that day, a new day, and one in D.
	src.mu.Lock()
	src.items = append(src.items,
		remote.Item{ID: "b", Collection: "C", Time: at("2024-03-14T11:00:00Z")},
		remote.Item{ID: "c", Collection: "C", Time: at("2024-03-20T11:00:00Z")},
		remote.Item{ID: "y", Collection: "D", Time: at("2024-03-14T11:00:00Z")})
	src.mu.Unlock()
	if days, n, nD := list(); len(days) != 1 || n != 1 || nD != 1 {
		t.Fatalf("before refresh (cached): days %v, %d items, %d in D", days, n, nD)
	}
	c.Refresh("C", 2024, 3, 14) // the day folder
	if days, n, nD := list(); len(days) != 1 || n != 2 || nD != 1 {
		t.Errorf("after refreshing the day: days %v, %d items, %d in D; want the day's new item only", days, n, nD)
	}
	c.Refresh("C", 2024, 0, 0) // the year folder and below
	if days, _, nD := list(); len(days) != 2 || nD != 1 {
		t.Errorf("after refreshing the year: days %v, %d in D; want the new day, D untouched", days, nD)
	}
	c.Refresh("", 0, 0, 0) // the whole catalog
	if _, _, nD := list(); nD != 2 {
		t.Errorf("after refreshing the catalog: %d in D, want 2", nD)
	}
}
