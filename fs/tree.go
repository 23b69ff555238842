package fs

import (
	"context"
	"fmt"
	"sort"
	"syscall"
	"time"

	"github.com/stacfs/stacfs/catalog"
)

// rootDir lists the configured catalogs.
type rootDir struct{ fs *FS }

func (r rootDir) list(context.Context) (listing, error) {
	kids := make([]child, 0, len(r.fs.o.Catalogs))
	for _, c := range r.fs.o.Catalogs {
		p := join("/", c.Name())
		kids = append(kids, child{name: c.Name(), node: &dir{fs: r.fs, path: p, mtime: r.fs.mounted, l: catalogDir{r.fs, c, p}}})
	}
	for _, b := range r.fs.o.Broken {
		kids = append(kids, child{name: b.Name, node: &dir{fs: r.fs, path: join("/", b.Name), mtime: r.fs.mounted, l: b}})
	}
	for _, pc := range r.fs.o.Pending {
		p := join("/", pc.Name())
		kids = append(kids, child{name: pc.Name(), node: &dir{fs: r.fs, path: p, mtime: r.fs.mounted, l: pendingDir{r.fs, pc, p}}})
	}
	return childListing(r.fs, sortChildren(kids)), nil // the catalogs do not change
}

// catalogDir lists a catalog's collections.
type catalogDir struct {
	fs   *FS
	cat  *catalog.Catalog
	path string
}

func (d catalogDir) list(ctx context.Context) (listing, error) {
	cols, err := d.cat.Collections(ctx)
	if err != nil {
		return listing{}, err
	}
	return d.listing(cols), nil
}

func (d catalogDir) last(ctx context.Context) (listing, bool, bool) {
	cols, fresh, ok := d.cat.LastCollections(ctx)
	return d.listing(cols), fresh, ok
}

func (d catalogDir) failed() error { return d.cat.CollectionsFailed() }

// listing is the folder of the collections cols.
func (d catalogDir) listing(cols []catalog.Collection) listing {
	colAt := func(name string) int {
		return sort.Search(len(cols), func(i int) bool { return cols[i].Name >= name })
	}
	collection := func(i int) child {
		col := cols[i]
		p := join(d.path, col.Name)
		l := dateDir{fs: d.fs, cat: d.cat, col: col, path: p}
		return child{name: col.Name, node: &dir{fs: d.fs, path: p, mtime: col.Start, l: l}}
	}
	l := listing{
		ver:   sliceVer(cols),
		n:     len(cols),
		name:  func(i int) string { return cols[i].Name },
		mode:  func(int) uint32 { return syscall.S_IFDIR | 0o555 },
		child: collection,
	}
	views := d.cat.Views()
	if len(views) == 0 {
		return l
	}
	// A collection called "views" keeps its name; the views folder then
	// takes "views~" (and so on). It sits among the collections by name.
	name := viewsFolder
	for i := colAt(name); i < len(cols) && cols[i].Name == name; i = colAt(name) {
		name += "~"
	}
	at := colAt(name)
	p := join(d.path, name)
	l.n++
	l.name = func(i int) string {
		switch {
		case i < at:
			return cols[i].Name
		case i == at:
			return name
		}
		return cols[i-1].Name
	}
	l.child = func(i int) child {
		switch {
		case i < at:
			return collection(i)
		case i == at:
			return child{name: name, node: &dir{fs: d.fs, path: p, mtime: d.fs.mounted, l: viewsDir{d.fs, views, p}}}
		}
		return collection(i - 1)
	}
	return l
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

func (d viewsDir) list(context.Context) (listing, error) {
	kids := make([]child, 0, len(d.views))
	for _, v := range d.views {
		p := join(d.path, v.Name)
		kids = append(kids, child{name: v.Name, node: &dir{fs: d.fs, path: p, mtime: d.fs.mounted, l: catalogDir{d.fs, v.Catalog, p}}})
	}
	return childListing(sliceVer(d.views), kids), nil // views are sorted by name and do not change
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

func (d dateDir) list(ctx context.Context) (listing, error) {
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
		return listing{}, err
	}
	return d.unitListing(units), nil
}

func (d dateDir) last(ctx context.Context) (listing, bool, bool) {
	if d.day != 0 {
		l, fresh, ok := d.cat.LastDay(ctx, d.col, d.year, d.month, d.day)
		if !ok {
			return listing{}, false, false
		}
		items, _ := l.Sorted()
		return d.itemListing(items), fresh, true
	}
	units, fresh, ok := d.cat.LastUnits(ctx, d.col, d.year, d.month)
	return d.unitListing(units), fresh, ok
}

func (d dateDir) failed() error {
	if d.day != 0 {
		return d.cat.DayFailed(d.col, d.year, d.month, d.day)
	}
	return d.cat.UnitsFailed(d.col, d.year, d.month)
}

// unitListing is the folder of the years, months or days units.
func (d dateDir) unitListing(units []int) listing {
	// Zero-padded numbers sort as numbers do.
	name := func(i int) string {
		if d.year == 0 {
			return fmt.Sprintf("%04d", units[i])
		}
		return fmt.Sprintf("%02d", units[i])
	}
	l := listing{
		ver:  sliceVer(units),
		n:    len(units),
		name: name,
		mode: func(int) uint32 { return syscall.S_IFDIR | 0o555 },
		child: func(i int) child {
			u, sub := units[i], d
			var t time.Time
			switch {
			case d.year == 0:
				sub.year = u
				t = time.Date(u, 1, 1, 0, 0, 0, 0, time.UTC)
			case d.month == 0:
				sub.month = u
				t = time.Date(d.year, time.Month(u), 1, 0, 0, 0, 0, time.UTC)
			default:
				sub.day = u
				t = time.Date(d.year, time.Month(d.month), u, 0, 0, 0, 0, time.UTC)
			}
			sub.path = join(d.path, name(i))
			return child{name: name(i), node: &dir{fs: d.fs, path: sub.path, mtime: t, l: sub}}
		},
	}
	if d.year == 0 && len(d.col.Raw) > 0 {
		// The collection as the API returned it, after the years (digits
		// sort before letters); no year is called so.
		mt := d.col.Start
		if mt.IsZero() {
			mt = d.fs.mounted
		}
		years, yearChild := l.n, l.child
		p := join(d.path, collectionJSON)
		l.n++
		l.name = func(i int) string {
			if i == years {
				return collectionJSON
			}
			return name(i)
		}
		l.mode = func(i int) uint32 {
			if i == years {
				return syscall.S_IFREG | 0o444
			}
			return syscall.S_IFDIR | 0o555
		}
		l.child = func(i int) child {
			if i == years {
				return child{name: collectionJSON, node: &jsonFile{fs: d.fs, doc: catalog.MemDoc(d.col.Raw), path: p, mtime: mt}}
			}
			return yearChild(i)
		}
	}
	return l
}

// collectionJSON is the name of the collection document in a collection
// folder.
const collectionJSON = "collection.json"

func (d dateDir) items(ctx context.Context) (listing, error) {
	items, err := d.cat.Items(ctx, d.col, d.year, d.month, d.day)
	if err != nil {
		return listing{}, err
	}
	return d.itemListing(items), nil
}

// itemListing is the folder of the day's items, sorted by name.
func (d dateDir) itemListing(items []*catalog.Item) listing {
	return listing{
		ver:   sliceVer(items),
		n:     len(items),
		name:  func(i int) string { return items[i].Name },
		mode:  func(int) uint32 { return syscall.S_IFDIR | 0o555 },
		child: func(i int) child { return d.itemChild(items[i]) },
	}
}

// itemChild is the folder of one item of the day.
func (d dateDir) itemChild(it *catalog.Item) child {
	p := join(d.path, it.Name)
	l := itemDir{fs: d.fs, cat: d.cat, item: it, node: nil, path: p}
	return child{it.Name, &dir{fs: d.fs, path: p, mtime: it.Time, l: l}, d.fs.o.ItemTimeout}
}

// itemDir lists an item folder, or a sub-folder of it (node != nil).
type itemDir struct {
	fs   *FS
	cat  *catalog.Catalog
	item *catalog.Item
	node *catalog.Node
	path string
}

func (d itemDir) list(ctx context.Context) (listing, error) {
	n := d.node
	if n == nil {
		n = d.item.Tree()
	}
	kids, ver := d.shown(n) // sorted by name
	return listing{
		ver:   ver,
		n:     len(kids),
		name:  func(i int) string { return kids[i].Name },
		mode:  func(i int) uint32 { return entryMode(kids[i].Dir) },
		child: func(i int) child { return d.child(kids[i]) },
	}, nil
}

// child is the child of an item folder for node c.
func (d itemDir) child(c *catalog.Node) child {
	p := join(d.path, c.Name)
	var nd node
	switch {
	case c.Archive != nil:
		nd = d.zipFolder(c.Archive, p)
	case c.Store != nil:
		nd = d.zarrFolder(c.Store, p)
	case c.Dir:
		nd = &dir{fs: d.fs, path: p, mtime: d.item.Time, l: itemDir{d.fs, d.cat, d.item, c, p}}
	case c.Asset != nil:
		nd = &assetFile{fs: d.fs, cat: d.cat, item: d.item, asset: c.Asset, path: p, mtime: d.item.Time}
	default:
		nd = &jsonFile{fs: d.fs, doc: c.Doc, path: p, mtime: d.item.Time}
	}
	timeout := d.fs.o.ItemTimeout
	if c.Archive != nil {
		if _, known := d.cat.RangeableKnown(d.item, c.Archive); !known {
			timeout = time.Nanosecond // the folder may go once probed: the kernel asks again
		}
	}
	return child{c.Name, nd, timeout}
}
