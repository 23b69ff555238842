package catalog

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// ViewFilter is a saved search: it narrows every search a Catalog makes
// (the year, month and day probes and the day listings).
type ViewFilter struct {
	// Collections the view shows (all of the catalog's when empty).
	Collections []string
	// Bbox is sent as the bbox of every search ([minx, miny, maxx, maxy]).
	Bbox []float64
	// From and To bound the items' own dates to [From, To); zero is open.
	From, To time.Time
	// Extra fields for every search (filter, filter-lang, query). Not
	// modified.
	Extra map[string]any
}

// View is a saved search of a catalog.
type View struct {
	Name string
	*Catalog
}

// View returns the catalog seen through the saved search f, and adds it to
// c's views under name. It shares c's source, reader and block cache, and
// keeps its own listings. Call it before c is served.
func (c *Catalog) View(name string, f ViewFilter) *Catalog {
	o := c.o
	o.Filter = f
	if len(f.Collections) > 0 {
		o.Collections = f.Collections
	}
	v := New(c.src, c.rd, o)
	v.log = c.log.With("view", name)
	c.views = append(c.views, View{Name: name, Catalog: v})
	sort.Slice(c.views, func(i, j int) bool { return c.views[i].Name < c.views[j].Name })
	return v
}

// Views returns the catalog's views, sorted by name.
func (c *Catalog) Views() []View { return c.views }

// search returns the base search of coll over [from, to), with the view's
// filter.
func (c *Catalog) search(coll string, from, to time.Time, limit int) remote.Search {
	q := remote.Search{Collections: []string{coll}, Datetime: Interval(from, to), Limit: limit}
	if f := c.o.Filter; len(f.Bbox) > 0 || len(f.Extra) > 0 {
		q.Bbox = f.Bbox
		q.Extra = f.Extra
	}
	return q
}

// clip narrows [from, to) to the view's datetime span; ok is false when
// nothing is left.
func (c *Catalog) clip(from, to time.Time) (time.Time, time.Time, bool) {
	f := c.o.Filter
	if !f.From.IsZero() && from.Before(f.From) {
		from = f.From
	}
	if !f.To.IsZero() && to.After(f.To) {
		to = f.To
	}
	return from, to, from.Before(to)
}

// ParseDatetime reads a STAC datetime (an RFC 3339 instant, or an interval
// "a/b" with ".." or "" for an open end) as the span [from, to); zero times
// are open ends. Dates without a time (2023-01-31) are accepted; an end is
// inclusive (a date end covers its whole day).
func ParseDatetime(s string) (from, to time.Time, err error) {
	a, b, interval := strings.Cut(s, "/")
	if !interval {
		b = a
	}
	if from, err = parseEnd(a, false); err != nil {
		return
	}
	if to, err = parseEnd(b, true); err != nil {
		return
	}
	if from.IsZero() && to.IsZero() {
		return from, to, fmt.Errorf("datetime %q: empty", s)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, fmt.Errorf("datetime %q: the start is after the end", s)
	}
	return from, to, nil
}

func parseEnd(s string, end bool) (time.Time, error) {
	if s == "" || s == ".." {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if end {
			t = t.Add(time.Millisecond) // inclusive at the millisecond precision of searches
		}
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("datetime %q: not RFC 3339 (e.g. 2023-01-31T00:00:00Z) or a date (2023-01-31)", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
