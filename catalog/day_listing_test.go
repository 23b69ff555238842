package catalog

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// gatedSource holds the pages of a listing after the first until released.
type gatedSource struct {
	*fakeSource
	release chan struct{}
}

func (g *gatedSource) Search(ctx context.Context, q remote.Search, fn func(*remote.Page) bool) error {
	page := 0
	return g.fakeSource.Search(ctx, q, func(p *remote.Page) bool {
		if page++; page > 1 && q.Limit > 1 {
			select {
			case <-g.release:
			case <-ctx.Done():
				return false
			}
		}
		return fn(p)
	})
}

// TestItemsLoading: the items of a day's first page are shown while the
// others load, each once (a repeat on a later page is dropped); ids usable
// as names keep them whatever their order, ids that need sanitising are
// named at the end, after them ("a/b" takes "a_b~2": "a_b" is an id); the
// complete listing is Items' (sorted) and cached.
func TestItemsLoading(t *testing.T) {
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, pageSize: 3}
	day := at("2024-02-29T12:00:00Z")
	for _, id := range []string{"z1", "a/b", "m2", "m2", "a_b", "b3", "c4"} { // pages: [z1 a/b m2] [m2 a_b b3] [c4]
		src.items = append(src.items, remote.Item{ID: id, Collection: "C", Time: day, Raw: []byte(`{}`)})
	}
	g := &gatedSource{fakeSource: src, release: make(chan struct{})}
	c := New(g, nil, Options{Name: "t", PageLimit: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	col, _ := c.FindCollection(ctx, "C")
	l, err := c.ItemsLoading(ctx, col, 2024, 2, 29)
	if err != nil || l == nil {
		t.Fatalf("ItemsLoading: %v, %v", l, err)
	}
	var shown []string
	for i := range 2 { // z1, m2: page 1 without a/b, held for its name
		it, err := l.At(ctx, i)
		if err != nil || it == nil {
			t.Fatalf("item %d before the second page: %v %v", i, it, err)
		}
		shown = append(shown, it.Name)
	}
	if done, _ := l.Done(); done {
		t.Fatal("the listing is done while a page is held")
	}
	if it, _ := l.Find("m2"); it == nil {
		t.Error("Find of a shown item: nil")
	}
	close(g.release)
	for i := 2; ; i++ {
		it, err := l.At(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if it == nil {
			break
		}
		shown = append(shown, it.Name)
	}
	want := []string{"z1", "m2", "a_b", "b3", "c4", "a_b~2"}
	if fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Errorf("shown %q, want %q", shown, want)
	}
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	sort.Strings(want)
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("Items: %q, want %q", names, want)
	}
	if it, _ := l.Find("a_b~2"); it == nil || it.ID != "a/b" {
		t.Errorf("a_b~2 is %v, want the item a/b", it)
	}
	n := src.searches
	if again, err := c.ItemsLoading(ctx, col, 2024, 2, 29); again != l || err != nil {
		t.Errorf("ItemsLoading of a cached day: %p %v, want the listing loaded (%p)", again, err, l)
	}
	if src.searches != n {
		t.Error("the cached day searched again")
	}
}

// TestDayListingsEvicted: listing a day evicts the least recently used
// other days beyond ListedItems (the old code kept every day listed for
// its TTL, so a second big day doubled the memory); the day listed stays,
// and an evicted one is listed again (searched) when next used.
func TestDayListingsEvicted(t *testing.T) {
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, pageSize: 10}
	for _, day := range []string{"2024-02-27", "2024-02-28", "2024-02-29"} {
		for i := range 30 {
			src.items = append(src.items, remote.Item{ID: fmt.Sprintf("%s-%02d", day, i), Collection: "C", Time: at(day + "T12:00:00Z"), Raw: []byte(`{}`)})
		}
	}
	c := New(src, nil, Options{Name: "t", ListedItems: 70})
	ctx := context.Background()
	col, _ := c.FindCollection(ctx, "C")
	list := func(day int) {
		t.Helper()
		if items, err := c.Items(ctx, col, 2024, 2, day); err != nil || len(items) != 30 {
			t.Fatalf("day %d: %d items, %v", day, len(items), err)
		}
	}
	list(27)
	list(28)
	list(27) // 28 is now the least recently used
	n := src.searches
	list(29) // 90 > 70: evicts 28
	list(27)
	if src.searches != n+1 {
		t.Errorf("%d searches for day 29 and day 27 again, want 1 (27 stays cached)", src.searches-n)
	}
	list(28)
	if src.searches != n+2 {
		t.Error("the evicted day 28 was not searched again")
	}
}
