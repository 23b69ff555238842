package fs

import (
	"context"
	"fmt"
	"time"

	"github.com/stacfs/stacfs/catalog"
)

// rootDir lists the configured catalogs.
type rootDir struct{ fs *FS }

func (r rootDir) list(context.Context) ([]child, error) {
	kids := make([]child, 0, len(r.fs.o.Catalogs))
	for _, c := range r.fs.o.Catalogs {
		p := join("/", c.Name())
		kids = append(kids, child{name: c.Name(), node: &dir{fs: r.fs, path: p, mtime: r.fs.mounted, l: catalogDir{r.fs, c, p}}})
	}
	return sortChildren(kids), nil
}

// catalogDir lists a catalog's collections.
type catalogDir struct {
	fs   *FS
	cat  *catalog.Catalog
	path string
}

func (d catalogDir) list(ctx context.Context) ([]child, error) {
	cols, err := d.cat.Collections(ctx)
	if err != nil {
		return nil, err
	}
	kids := make([]child, 0, len(cols)+1)
	taken := map[string]bool{}
	for _, col := range cols {
		p := join(d.path, col.Name)
		l := dateDir{fs: d.fs, cat: d.cat, col: col, path: p}
		kids = append(kids, child{name: col.Name, node: &dir{fs: d.fs, path: p, mtime: col.Start, l: l}})
		taken[col.Name] = true
	}
	if views := d.cat.Views(); len(views) > 0 {
		// A collection called "views" keeps its name; the views folder
		// then takes "views~" (and so on).
		name := viewsFolder
		for taken[name] {
			name += "~"
		}
		p := join(d.path, name)
		kids = append(kids, child{name: name, node: &dir{fs: d.fs, path: p, mtime: d.fs.mounted, l: viewsDir{d.fs, views, p}}})
		sortChildren(kids)
	}
	return kids, nil
}

// viewsFolder is the name of the folder of a catalog's saved searches.
const viewsFolder = "views"

// viewsDir lists a catalog's views (saved searches); each lists its
// collections as a catalog folder does.
type viewsDir struct {
	fs    *FS
	views []catalog.View
	path  string
}

func (d viewsDir) list(context.Context) ([]child, error) {
	kids := make([]child, 0, len(d.views))
	for _, v := range d.views {
		p := join(d.path, v.Name)
		kids = append(kids, child{name: v.Name, node: &dir{fs: d.fs, path: p, mtime: d.fs.mounted, l: catalogDir{d.fs, v.Catalog, p}}})
	}
	return kids, nil // views are sorted by name
}

// dateDir lists the years of a collection and its collection.json (year ==
// 0), the months of a year (month == 0), the days of a month (day == 0) or
// the items of a day.
type dateDir struct {
	fs               *FS
	cat              *catalog.Catalog
	col              catalog.Collection
	year, month, day int
	path             string
}

func (d dateDir) list(ctx context.Context) ([]child, error) {
	var units []int
	var err error
	switch {
	case d.year == 0:
		units, err = d.cat.Years(ctx, d.col)
	case d.month == 0:
		units, err = d.cat.Months(ctx, d.col, d.year)
	case d.day == 0:
		units, err = d.cat.Days(ctx, d.col, d.year, d.month)
	default:
		return d.items(ctx)
	}
	if err != nil {
		return nil, err
	}
	kids := make([]child, 0, len(units))
	for _, u := range units {
		sub := d
		var name string
		var t time.Time
		switch {
		case d.year == 0:
			sub.year, name = u, fmt.Sprintf("%04d", u)
			t = time.Date(u, 1, 1, 0, 0, 0, 0, time.UTC)
		case d.month == 0:
			sub.month, name = u, fmt.Sprintf("%02d", u)
			t = time.Date(d.year, time.Month(u), 1, 0, 0, 0, 0, time.UTC)
		default:
			sub.day, name = u, fmt.Sprintf("%02d", u)
			t = time.Date(d.year, time.Month(d.month), u, 0, 0, 0, 0, time.UTC)
		}
		sub.path = join(d.path, name)
		kids = append(kids, child{name: name, node: &dir{fs: d.fs, path: sub.path, mtime: t, l: sub}})
	}
	if d.year == 0 && len(d.col.Raw) > 0 {
		// The collection as the API returned it; no year is called so.
		mt := d.col.Start
		if mt.IsZero() {
			mt = d.fs.mounted
		}
		p := join(d.path, collectionJSON)
		kids = append(kids, child{name: collectionJSON, node: &jsonFile{fs: d.fs, data: d.col.Raw, path: p, mtime: mt}})
		sortChildren(kids)
	}
	return kids, nil
}

// collectionJSON is the name of the collection document in a collection
// folder.
const collectionJSON = "collection.json"

func (d dateDir) items(ctx context.Context) ([]child, error) {
	items, err := d.cat.Items(ctx, d.col, d.year, d.month, d.day)
	if err != nil {
		return nil, err
	}
	kids := make([]child, 0, len(items))
	for _, it := range items {
		p := join(d.path, it.Name)
		l := itemDir{fs: d.fs, cat: d.cat, item: it, node: nil, path: p}
		kids = append(kids, child{it.Name, &dir{fs: d.fs, path: p, mtime: it.Time, l: l}, d.fs.o.ItemTimeout})
	}
	return kids, nil
}

// itemDir lists an item folder, or a sub-folder of it (node != nil).
type itemDir struct {
	fs   *FS
	cat  *catalog.Catalog
	item *catalog.Item
	node *catalog.Node
	path string
}

func (d itemDir) list(context.Context) ([]child, error) {
	n := d.node
	if n == nil {
		n = d.item.Tree()
	}
	kids := make([]child, 0, len(n.Children))
	for _, c := range n.Children {
		p := join(d.path, c.Name)
		var nd node
		switch {
		case c.Dir:
			nd = &dir{fs: d.fs, path: p, mtime: d.item.Time, l: itemDir{d.fs, d.cat, d.item, c, p}}
		case c.Asset != nil:
			nd = &assetFile{fs: d.fs, cat: d.cat, item: d.item, asset: c.Asset, path: p, mtime: d.item.Time}
		default:
			nd = &jsonFile{fs: d.fs, data: c.JSON, path: p, mtime: d.item.Time}
		}
		kids = append(kids, child{c.Name, nd, d.fs.o.ItemTimeout})
	}
	return kids, nil // Node children are sorted already
}
