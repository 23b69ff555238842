package catalog

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

func TestView(t *testing.T) {
	src := &fakeSource{
		cols: []remote.Collection{{ID: "C", Start: at("2019-01-01T00:00:00Z")}, {ID: "D"}},
		items: []remote.Item{
			{ID: "in", Collection: "C", Time: at("2021-03-04T10:00:00Z"), Bbox: []float64{3, 50, 4, 51}},
			{ID: "out", Collection: "C", Time: at("2021-03-04T11:00:00Z"), Bbox: []float64{10, 10, 11, 11}},
			{ID: "out2", Collection: "C", Time: at("2020-05-01T00:00:00Z"), Bbox: []float64{10, 10, 11, 11}},
			{ID: "early", Collection: "C", Time: at("2019-02-01T00:00:00Z"), Bbox: []float64{3, 50, 4, 51}},
		},
	}
	c, _ := newTestCatalog(src, at("2022-06-01T00:00:00Z"))
	from, to, err := ParseDatetime("2020-01-01T00:00:00Z/..")
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]any{"query": map[string]any{"eo:cloud_cover": map[string]any{"lt": 20}}}
	v := c.View("clear", ViewFilter{Collections: []string{"C"}, Bbox: []float64{0, 45, 5, 55}, From: from, To: to, Extra: extra})
	if got := c.Views(); len(got) != 1 || got[0].Name != "clear" || got[0].Catalog != v {
		t.Fatalf("Views = %v", got)
	}
	ctx := context.Background()
	cols, err := v.Collections(ctx)
	if err != nil || len(cols) != 1 || cols[0].ID != "C" {
		t.Fatalf("view collections = %v, %v", cols, err)
	}
	years, err := v.Years(ctx, cols[0])
	if err != nil || !reflect.DeepEqual(years, []int{2021}) {
		t.Fatalf("view years = %v, %v (want 2021: 2019 is before the view, 2020 outside its bbox)", years, err)
	}
	items, err := v.Items(ctx, cols[0], 2021, 3, 4)
	if err != nil || len(items) != 1 || items[0].ID != "in" {
		t.Fatalf("view items = %v, %v", items, err)
	}
	src.mu.Lock()
	for _, q := range src.queries {
		if !reflect.DeepEqual(q.Bbox, []float64{0, 45, 5, 55}) || !reflect.DeepEqual(q.Extra, extra) {
			t.Errorf("search %+v lacks the view's bbox or extra fields", q)
		}
		f, _ := parseInterval(q.Datetime)
		if f.Before(from) {
			t.Errorf("search %s starts before the view", q.Datetime)
		}
	}
	n := len(src.queries)
	src.queries = nil
	src.mu.Unlock()
	if n == 0 {
		t.Fatal("no searches")
	}

	// The catalog itself is not filtered.
	all, err := c.Items(ctx, cols[0], 2021, 3, 4)
	if err != nil || len(all) != 2 {
		t.Fatalf("catalog items = %v, %v", all, err)
	}
	years, err = c.Years(ctx, cols[0])
	if err != nil || !reflect.DeepEqual(years, []int{2019, 2020, 2021}) {
		t.Fatalf("catalog years = %v, %v", years, err)
	}
	for _, q := range src.queries {
		if q.Bbox != nil || q.Extra != nil {
			t.Errorf("catalog search %+v has a filter", q)
		}
	}
}

func TestParseDatetime(t *testing.T) {
	day := func(s string) time.Time { return at(s + "T00:00:00Z") }
	cases := []struct {
		in       string
		from, to time.Time
		bad      bool
	}{
		{in: "2023-01-01/2023-12-31", from: day("2023-01-01"), to: day("2024-01-01")},
		{in: "2023-01-01T00:00:00Z/..", from: day("2023-01-01")},
		{in: "../2023-01-01T00:00:00Z", to: at("2023-01-01T00:00:00.001Z")},
		{in: "2023-05-05", from: day("2023-05-05"), to: day("2023-05-06")},
		{in: "2024-01-01/2023-01-01", bad: true},
		{in: "../..", bad: true},
		{in: "yesterday", bad: true},
	}
	for _, c := range cases {
		from, to, err := ParseDatetime(c.in)
		if (err != nil) != c.bad || !c.bad && (!from.Equal(c.from) || !to.Equal(c.to)) {
			t.Errorf("ParseDatetime(%q) = %v, %v, %v", c.in, from, to, err)
		}
	}
}
