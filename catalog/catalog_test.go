package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// fakeSource is an in-memory STAC API that matches datetime by overlap, as
// real servers do, and counts searches.
type fakeSource struct {
	mu       sync.Mutex
	items    []remote.Item
	cols     []remote.Collection
	searches int
	pageSize int
	matched  bool
	queries  []remote.Search  // every search, in order
	colErr   map[string]error // Collection(id) fails with colErr[id]
	listErr  error            // Collections fails with it
}

func (f *fakeSource) Collections(context.Context) ([]remote.Collection, error) {
	return f.cols, f.listErr
}

func (f *fakeSource) Collection(_ context.Context, id string) (remote.Collection, error) {
	if err := f.colErr[id]; err != nil {
		return remote.Collection{}, err
	}
	for _, c := range f.cols {
		if c.ID == id {
			return c, nil
		}
	}
	return remote.Collection{}, remote.ErrNotFound
}

func (f *fakeSource) Item(_ context.Context, col, id string) (remote.Item, error) {
	for _, it := range f.items {
		if it.ID == id && it.Collection == col {
			return it, nil
		}
	}
	return remote.Item{}, remote.ErrNotFound
}

func parseInterval(s string) (time.Time, time.Time) {
	a, b, _ := strings.Cut(s, "/")
	from, _ := time.Parse(time.RFC3339Nano, a)
	to, _ := time.Parse(time.RFC3339Nano, b)
	return from, to
}

func (f *fakeSource) Search(ctx context.Context, q remote.Search, fn func(*remote.Page) bool) error {
	f.mu.Lock()
	f.searches++
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	from, to := parseInterval(q.Datetime)
	var hits []remote.Item
	for _, it := range f.items {
		if it.Collection != q.Collections[0] {
			continue
		}
		if len(q.Bbox) == 4 && len(it.Bbox) == 4 &&
			(it.Bbox[0] > q.Bbox[2] || it.Bbox[2] < q.Bbox[0] || it.Bbox[1] > q.Bbox[3] || it.Bbox[3] < q.Bbox[1]) {
			continue
		}
		s, e := it.Time, it.Time
		if !it.Start.IsZero() {
			s, e = it.Start, it.End
		}
		if !e.Before(from) && !s.After(to) { // overlap, inclusive
			hits = append(hits, it)
		}
	}
	size := q.Limit
	if f.pageSize > 0 && f.pageSize < size {
		size = f.pageSize
	}
	for i := 0; i < len(hits) || i == 0; i += size {
		p := &remote.Page{NumberMatched: -1}
		if f.matched {
			p.NumberMatched = int64(len(hits))
		}
		p.Items = hits[i:min(i+size, len(hits))]
		if !fn(p) || len(p.Items) == 0 {
			return nil
		}
	}
	return nil
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func newTestCatalog(src *fakeSource, now time.Time) (*Catalog, *time.Time) {
	clock := now
	c := New(src, nil, Options{Name: "t", Now: func() time.Time { return clock }, TTL: time.Minute})
	return c, &clock
}

func TestDates(t *testing.T) {
	src := &fakeSource{
		cols: []remote.Collection{{ID: "C", Start: at("2019-06-01T00:00:00Z")}},
		items: []remote.Item{
			{ID: "a", Collection: "C", Time: at("2019-06-03T10:00:00Z")},
			{ID: "b", Collection: "C", Time: at("2021-12-31T23:59:59.999Z")},
			{ID: "c", Collection: "C", Time: at("2022-01-01T00:00:00Z")},
			// Spans a month: placed on its start day only.
			{ID: "long", Collection: "C", Time: at("2021-11-20T00:00:00Z"), Start: at("2021-11-20T00:00:00Z"), End: at("2021-12-20T00:00:00Z")},
		},
	}
	for _, matched := range []bool{false, true} {
		t.Run(fmt.Sprintf("numberMatched=%v", matched), func(t *testing.T) {
			src.matched = matched
			c, _ := newTestCatalog(src, at("2023-05-01T00:00:00Z"))
			ctx := context.Background()
			col, err := c.FindCollection(ctx, "C")
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got []int, err error, want []int) {
				t.Helper()
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, %v; want %v", what, got, err, want)
				}
			}
			y, err := c.Years(ctx, col)
			check("years", y, err, []int{2019, 2021, 2022})
			m, err := c.Months(ctx, col, 2021)
			check("months 2021", m, err, []int{11, 12})
			d, err := c.Days(ctx, col, 2021, 12)
			check("days 2021-12", d, err, []int{31})
			d, err = c.Days(ctx, col, 2021, 11)
			check("days 2021-11", d, err, []int{20})
			items, err := c.Items(ctx, col, 2021, 12, 31)
			if err != nil || len(items) != 1 || items[0].ID != "b" {
				t.Errorf("items of 2021-12-31 = %v, %v", items, err)
			}
		})
	}
}

func TestYearsBisectWithoutExtent(t *testing.T) {
	src := &fakeSource{
		cols:  []remote.Collection{{ID: "C"}},
		items: []remote.Item{{ID: "a", Collection: "C", Time: at("1999-03-01T00:00:00Z")}, {ID: "b", Collection: "C", Time: at("2020-03-01T00:00:00Z")}},
	}
	c, _ := newTestCatalog(src, at("2024-01-01T00:00:00Z"))
	col, _ := c.FindCollection(context.Background(), "C")
	y, err := c.Years(context.Background(), col)
	if err != nil || !reflect.DeepEqual(y, []int{1999, 2020}) {
		t.Fatalf("years = %v, %v", y, err)
	}
	if src.searches > 30 {
		t.Errorf("bisection made %d searches over 55 years with 2 items", src.searches)
	}
}

func TestItemsPagingDedupAndTTL(t *testing.T) {
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, pageSize: 3}
	for i := range 10 {
		src.items = append(src.items, remote.Item{ID: fmt.Sprintf("i%02d", i), Collection: "C", Time: at("2024-02-29T12:00:00Z")})
	}
	src.items = append(src.items, src.items[4]) // a repeat across pages
	src.items = append(src.items, remote.Item{ID: "other-day", Collection: "C", Time: at("2024-03-01T00:00:00Z"), Start: at("2024-02-28T00:00:00Z"), End: at("2024-03-02T00:00:00Z")})
	c, clock := newTestCatalog(src, at("2024-06-01T00:00:00Z"))
	ctx := context.Background()
	col, _ := c.FindCollection(ctx, "C")
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	if len(names) != 10 || !sort.StringsAreSorted(names) {
		t.Errorf("items = %q", names)
	}
	n := src.searches
	c.Items(ctx, col, 2024, 2, 29)
	if src.searches != n {
		t.Error("second listing within the TTL searched again")
	}
	*clock = clock.Add(2 * time.Minute)
	c.Items(ctx, col, 2024, 2, 29)
	if src.searches == n {
		t.Error("listing after the TTL did not search again")
	}
	if _, err := c.Items(ctx, col, 2023, 2, 29); err == nil {
		t.Error("2023-02-29 gave no error")
	}
}

func TestInterval(t *testing.T) {
	got := Interval(at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"))
	if got != "2024-01-01T00:00:00.000Z/2024-12-31T23:59:59.999Z" {
		t.Errorf("Interval = %s", got)
	}
}

func TestAssetURL(t *testing.T) {
	cases := []struct {
		a    remote.Asset
		want string
	}{
		{remote.Asset{Href: "https://h/a.tif"}, "https://h/a.tif"},
		{remote.Asset{Href: "s3://b/a.tif", Alternates: map[string]string{"s3": "s3://x", "download": "https://signed/a.tif?sig=1"}}, "https://signed/a.tif?sig=1"},
		{remote.Asset{Href: "s3://b/a.tif", Alternates: map[string]string{"z": "s3://x", "https": "https://h/a"}}, "https://h/a"},
		{remote.Asset{Href: "s3://b/a.tif"}, ""},
	}
	for _, c := range cases {
		got, err := AssetURL(&c.a)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("AssetURL(%v) = %q, %v; want %q", c.a, got, err, c.want)
		}
	}
}

// bigDay is a source holding n items on 2024-02-29, each with its JSON.
func bigDay(n, pageSize int) *fakeSource {
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, pageSize: pageSize}
	for i := range n {
		id := fmt.Sprintf("i%05d", i)
		src.items = append(src.items, remote.Item{ID: id, Collection: "C", Time: at("2024-02-29T12:00:00Z"),
			Raw: []byte(fmt.Sprintf(`{"id":%q,"type":"Feature"}`, id))})
	}
	return src
}

// TestItemsAllShown: a day of 15 000 items shows all 15 000 (the old code
// cut it at 10 000 without an error), each with its JSON.
func TestItemsAllShown(t *testing.T) {
	src := bigDay(15000, 1000)
	c := New(src, nil, Options{})
	col, _ := c.FindCollection(context.Background(), "C")
	items, err := c.Items(context.Background(), col, 2024, 2, 29)
	if err != nil || len(items) != 15000 {
		t.Fatalf("listing: %d items, %v; want 15000", len(items), err)
	}
	for _, i := range []int{0, 9999, 10000, 14999} {
		it := items[i]
		want := fmt.Sprintf("i%05d", i)
		got, err := it.JSON().Bytes()
		if it.Name != want || err != nil || string(got) != fmt.Sprintf(`{"id":%q,"type":"Feature"}`, want) {
			t.Errorf("item %d: %s, JSON %q %v", i, it.Name, got, err)
		}
		if it.Raw != nil {
			t.Errorf("item %d keeps its JSON in memory (%d bytes)", i, len(it.Raw))
		}
	}
	if q := src.queries[len(src.queries)-1]; q.Limit != DefaultPageLimit {
		t.Errorf("page size asked %d, want %d", q.Limit, DefaultPageLimit)
	}
}

// TestItemsOverLimit: a day over MaxItems fails to list (ErrTooManyItems),
// never shows a part of its items.
func TestItemsOverLimit(t *testing.T) {
	src := bigDay(50, 7)
	c := New(src, nil, Options{MaxItems: 20})
	col, _ := c.FindCollection(context.Background(), "C")
	items, err := c.Items(context.Background(), col, 2024, 2, 29)
	if !errors.Is(err, ErrTooManyItems) || len(items) != 0 {
		t.Fatalf("over max_items: %d items, %v; want ErrTooManyItems", len(items), err)
	}
	c = New(src, nil, Options{MaxItems: 50})
	col, _ = c.FindCollection(context.Background(), "C")
	if items, err = c.Items(context.Background(), col, 2024, 2, 29); err != nil || len(items) != 50 {
		t.Fatalf("at max_items: %d items, %v; want 50", len(items), err)
	}
}
