// Package catalog models one STAC catalog as the folder tree stacfs shows:
// <collection>/<YYYY>/<MM>/<DD>/<item>/<asset files>.
//
// The tree is built lazily from STAC API queries and cached for a
// time-to-live:
//
//   - collections come from /collections (every page), or only the
//     configured ones (those the server does not have are left out with an
//     ERROR log; see missing.go);
//   - years, months and days that hold at least one item are found with
//     small item searches (limit 1) over datetime intervals, run in
//     parallel, bounded by the collection's temporal extent; a search never
//     pages through a whole collection;
//   - an item belongs to the UTC day of its own date (datetime, else
//     start_datetime). Servers match datetime intervals by overlap, so every
//     result is placed on the client and shown once;
//   - an item folder holds item.json and the asset files in the product's
//     own folder layout (see Layout).
//
// Failed loads are not cached; concurrent requests for the same folder share
// one load, which runs detached from the caller's context.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/errgroup"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// Source is the STAC API that a Catalog lists.
type Source interface {
	Collections(ctx context.Context) ([]remote.Collection, error)
	Collection(ctx context.Context, id string) (remote.Collection, error)
	Search(ctx context.Context, q remote.Search, fn func(*remote.Page) bool) error
	Item(ctx context.Context, collection, id string) (remote.Item, error)
}

// Reader reads asset bytes.
type Reader interface {
	// ReadHead reads the first n bytes and describes the object (size,
	// version) from the same answer.
	ReadHead(ctx context.Context, url string, n int) ([]byte, remote.Info, error)
	ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error)
}

// Options configure a Catalog. Zero values take the defaults.
type Options struct {
	Name        string   // the catalog's name in the config
	Collections []string // show only these (all when empty)

	TTL       time.Duration // how long listings and sizes are cached (default 5m)
	Timeout   time.Duration // bound for one metadata load (default 2m)
	Parallel  int           // parallel probe searches (default 8)
	PageLimit int           // items per page asked when listing a day (default 1000; servers may give fewer)
	// MaxItems is the most items a day folder may hold (0, the default: no
	// limit). A day with more fails to list with ErrTooManyItems (and an
	// ERROR log): a listing is never cut short silently.
	MaxItems int
	// ListedItems bounds the items of the day listings kept cached
	// (default DefaultListedItems): listing a day evicts the least
	// recently used other days beyond it (listed again when next opened).
	ListedItems int
	// SpoolDir is where the items' JSON of day listings is spooled (the
	// system's temporary folder when empty).
	SpoolDir string
	// StreamDir is where streams (assets without length or Range) are
	// spooled (the system's temporary folder when empty), and
	// StreamStatLimit the most bytes of one downloaded to learn its size
	// on stat (0: never; see StreamSize).
	StreamDir       string
	StreamStatLimit int64
	// StreamKeepBytes bounds the spools of kept streams nobody holds
	// (0: twice StreamStatLimit, at least 2 GiB); the oldest go first.
	StreamKeepBytes int64

	// Filter narrows every search (a saved search; see View).
	Filter ViewFilter

	// Href, when set, chooses the URL an asset is read from (false: none is
	// readable); nil reads AssetURL.
	Href func(a *remote.Asset) (string, bool)

	// Cache, when set, receives the head of each asset read to learn its
	// size and version, so that the first read of it fetches nothing more.
	Cache *cache.Cache
	// ShareBlocks lets the cache's shared tier hold this catalog's assets
	// (cache.Object.Shared).
	ShareBlocks bool

	Now    func() time.Time // clock (default time.Now)
	Logger *slog.Logger
}

// Collection is a collection folder.
type Collection struct {
	Name string // folder name (sanitised id)
	remote.Collection
}

// Item is an item folder.
type Item struct {
	Name string // folder name (sanitised id, unique in its day)
	// The item without its JSON when that is spooled (doc): Raw is then
	// nil.
	remote.Item

	doc  *Doc // the spooled JSON; nil when Raw holds it
	once sync.Once
	tree *Node
}

// Tree returns the item's folder (item.json and the asset files).
func (it *Item) Tree() *Node {
	it.once.Do(func() {
		it.tree = Layout(it.Item)
		if n := it.tree.Child(ItemJSON); n != nil && it.doc != nil {
			n.Doc = it.doc
		}
	})
	return it.tree
}

// JSON returns the item as the API returned it.
func (it *Item) JSON() *Doc {
	if it.doc != nil {
		return it.doc
	}
	return MemDoc(it.Raw)
}

// ErrTooManyItems means a day holds more items than Options.MaxItems allows.
var ErrTooManyItems = errors.New("more items than max_items allows")

// Catalog is one STAC catalog as a folder tree.
//
// Lock order: Catalog.mu before Stream.mu (OpenStream looks a kept stream
// up under both); memo.mu is taken alone. Nothing closes a file or does
// I/O under Catalog.mu: streams the LRU drops while it is held are handed
// out of it (dropped) and released after it is unlocked.
type Catalog struct {
	// read only after New
	src Source
	rd  Reader
	o   Options
	log *slog.Logger

	colls *memo[string, []Collection]
	dates *memo[string, []int]       // key: collection "\x00" [year [month]]
	items *memo[string, *DayListing] // complete day listings (day_listing.go)
	stats *memo[string, remote.Info] // by assetID

	mu       sync.Mutex                      // protects the following; before Stream.mu
	streamed map[string]int64                // sizes learnt by reading streams whole, by assetID
	streams  *simplelru.LRU[string, *Stream] // by assetID
	dropped  []*Stream                       // evicted from streams, released after mu is unlocked
	hrefs    map[string]string               // fresher asset URLs (re-signed), by assetID
	big      map[string]bigStream            // streams found longer than StreamStatLimit, by assetID (streamsize.go)
	// serverSizes are the servers' sizes of assets whose file:size
	// differs, by assetID (size_mismatch.go)
	serverSizes map[string]int64

	views []View // set before serving

	ctr containers // zip member lists (container.go)

	loading map[string]*DayListing // day listings being loaded, by items key (day_listing.go); under mu
	days    map[string]*dayUse     // complete day listings cached, by items key (day_evict.go); under mu
}

// DefaultTTL is how long listings and sizes are cached when Options.TTL is 0.
const DefaultTTL = 5 * time.Minute

// New returns the catalog served by src, with asset bytes from rd.
func New(src Source, rd Reader, o Options) *Catalog {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.PageLimit <= 0 {
		o.PageLimit = DefaultPageLimit
	}
	if o.ListedItems <= 0 {
		o.ListedItems = DefaultListedItems
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("catalog", o.Name)
	c := &Catalog{
		src: src, rd: rd, o: o, log: log,
		colls: newMemo[string, []Collection](o.TTL, o.Timeout, o.Now),
		dates: newMemo[string, []int](o.TTL, o.Timeout, o.Now),
		items: newMemo[string, *DayListing](o.TTL, o.Timeout, o.Now),
		stats: newMemo[string, remote.Info](o.TTL, o.Timeout, o.Now),

		streamed:    map[string]int64{},
		hrefs:       map[string]string{},
		serverSizes: map[string]int64{},
		loading:     map[string]*DayListing{},
		days:        map[string]*dayUse{},
	}
	// Called under c.mu (by Add and Remove): the stream is released later,
	// outside it (see releaseDropped).
	c.streams, _ = simplelru.NewLRU(keptStreams, func(_ string, s *Stream) { c.dropped = append(c.dropped, s) })
	return c
}

// Name returns the catalog's configured name.
func (c *Catalog) Name() string { return c.o.Name }

// TTL returns how long metadata is cached.
func (c *Catalog) TTL() time.Duration { return c.o.TTL }

// Collections lists the collection folders, sorted by name.
func (c *Catalog) Collections(ctx context.Context) ([]Collection, error) {
	return c.colls.get(ctx, "", c.loadCollections)
}

// loadCollections asks the server for the collection folders.
func (c *Catalog) loadCollections(ctx context.Context) ([]Collection, error) {
	var list []remote.Collection
	var err error
	if len(c.o.Collections) > 0 {
		list, err = c.loadConfigured(ctx) // missing.go
	} else if list, err = c.src.Collections(ctx); err != nil {
		err = fmt.Errorf("list collections: %w", err)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	names := uniqueNames{}
	out := make([]Collection, 0, len(list))
	for _, col := range list {
		out = append(out, Collection{Name: names.take(col.ID, "collection"), Collection: col})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FindCollection returns the collection folder called name.
func (c *Catalog) FindCollection(ctx context.Context, name string) (Collection, error) {
	list, err := c.Collections(ctx)
	if err != nil {
		return Collection{}, err
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].Name >= name })
	if i < len(list) && list[i].Name == name {
		return list[i], nil
	}
	return Collection{}, fmt.Errorf("collection %q: %w", name, remote.ErrNotFound)
}

// Years lists the years that hold at least one item of col.
func (c *Catalog) Years(ctx context.Context, col Collection) ([]int, error) {
	return c.units(ctx, col, 0, 0)
}

// Months lists the months (1-12) of year that hold items of col.
func (c *Catalog) Months(ctx context.Context, col Collection, year int) ([]int, error) {
	return c.units(ctx, col, year, 0)
}

// Days lists the days of a month that hold items of col.
func (c *Catalog) Days(ctx context.Context, col Collection, year, month int) ([]int, error) {
	return c.units(ctx, col, year, month)
}

// units lists the years of col (year 0), the months of year (month 0) or
// the days of month that hold items.
func (c *Catalog) units(ctx context.Context, col Collection, year, month int) ([]int, error) {
	key, load := c.unitsLoad(col, year, month)
	return c.dates.get(ctx, key, load)
}

// unitsLoad returns the cache key of units(col, year, month) and its load.
func (c *Catalog) unitsLoad(col Collection, year, month int) (string, func(context.Context) ([]int, error)) {
	switch {
	case year == 0:
		return col.ID, func(ctx context.Context) ([]int, error) {
			first, last := 1970, c.o.Now().UTC().Year()
			if !col.Start.IsZero() {
				first = col.Start.UTC().Year()
			}
			if !col.End.IsZero() {
				last = col.End.UTC().Year()
			}
			if f := c.o.Filter; !f.From.IsZero() && f.From.Year() > first {
				first = f.From.Year()
			}
			if f := c.o.Filter; !f.To.IsZero() && f.To.Add(-time.Nanosecond).Year() < last {
				last = f.To.Add(-time.Nanosecond).Year()
			}
			if last < first {
				last = first
			}
			span := func(y0, y1 int) (time.Time, time.Time) {
				return time.Date(y0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y1+1, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			return c.findUnits(ctx, col.ID, first, last, span)
		}
	case month == 0:
		return col.ID + "\x00" + strconv.Itoa(year), func(ctx context.Context) ([]int, error) {
			span := func(m0, m1 int) (time.Time, time.Time) {
				return time.Date(year, time.Month(m0), 1, 0, 0, 0, 0, time.UTC), time.Date(year, time.Month(m1+1), 1, 0, 0, 0, 0, time.UTC)
			}
			return c.findUnits(ctx, col.ID, 1, 12, span)
		}
	}
	return col.ID + "\x00" + strconv.Itoa(year) + "\x00" + strconv.Itoa(month), func(ctx context.Context) ([]int, error) {
		last := time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		span := func(d0, d1 int) (time.Time, time.Time) {
			return time.Date(year, time.Month(month), d0, 0, 0, 0, 0, time.UTC), time.Date(year, time.Month(month), d1+1, 0, 0, 0, 0, time.UTC)
		}
		return c.findUnits(ctx, col.ID, 1, last, span)
	}
}

// flatProbes is the largest number of units probed one by one; larger
// ranges are bisected.
const flatProbes = 32

// findUnits returns the units in [first, last] (years, months or days) whose
// span holds at least one item of the collection. span(a, b) is the time
// interval [from, to) covering units a..b.
func (c *Catalog) findUnits(ctx context.Context, coll string, first, last int, span func(a, b int) (time.Time, time.Time)) ([]int, error) {
	if last-first+1 > flatProbes {
		var out []int
		var mu sync.Mutex
		var walk func(ctx context.Context, a, b int) error
		walk = func(ctx context.Context, a, b int) error {
			from, to := span(a, b)
			ok, err := c.probe(ctx, coll, from, to)
			if err != nil || !ok {
				return err
			}
			if a == b {
				mu.Lock()
				out = append(out, a)
				mu.Unlock()
				return nil
			}
			mid := (a + b) / 2
			return c.parallel(ctx, 2, func(ctx context.Context, i int) error {
				if i == 0 {
					return walk(ctx, a, mid)
				}
				return walk(ctx, mid+1, b)
			})
		}
		if err := walk(ctx, first, last); err != nil {
			return nil, err
		}
		sort.Ints(out)
		return out, nil
	}
	found := make([]bool, last-first+1)
	err := c.parallel(ctx, len(found), func(ctx context.Context, i int) error {
		from, to := span(first+i, first+i)
		ok, err := c.probe(ctx, coll, from, to)
		found[i] = ok
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []int
	for i, ok := range found {
		if ok {
			out = append(out, first+i)
		}
	}
	return out, nil
}

// probeScanPages bounds how far a probe pages through overlapping items
// that belong to other dates before it assumes the interval is not empty.
const probeScanPages = 20

// probeScanLimit is the page size of that scan: it looks for one item.
const probeScanLimit = 100

// probe reports whether the collection holds an item whose own date is in
// [from, to).
func (c *Catalog) probe(ctx context.Context, coll string, from, to time.Time) (bool, error) {
	from, to, ok := c.clip(from, to)
	if !ok {
		return false, nil
	}
	q := c.search(coll, from, to, 1)
	found, matched, overlapping := false, int64(-1), false
	err := c.src.Search(ctx, q, func(p *remote.Page) bool {
		matched = p.NumberMatched
		for _, it := range p.Items {
			if inside(it.Time, from, to) {
				found = true
			} else {
				overlapping = true
			}
		}
		return false
	})
	if err != nil || found || matched == 0 || !overlapping {
		return found, wrapSearch(err, coll, q.Datetime)
	}
	// The first hit belongs to another date (servers match by overlap):
	// scan the interval's items.
	q.Limit = min(c.o.PageLimit, probeScanLimit)
	pages := 0
	err = c.src.Search(ctx, q, func(p *remote.Page) bool {
		pages++
		for _, it := range p.Items {
			if inside(it.Time, from, to) {
				found = true
				return false
			}
		}
		return pages < probeScanPages
	})
	if err == nil && !found && pages >= probeScanPages {
		c.log.Warn("probe gave up scanning overlapping items; showing the interval", "collection", coll, "datetime", q.Datetime)
		found = true
	}
	return found, wrapSearch(err, coll, q.Datetime)
}

func wrapSearch(err error, coll, dt string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("search %s %s: %w", coll, dt, err)
}

func inside(t, from, to time.Time) bool {
	return !t.IsZero() && !t.Before(from) && t.Before(to)
}

// Interval formats [from, to) as a STAC datetime interval (inclusive ends,
// millisecond precision).
func Interval(from, to time.Time) string {
	const layout = "2006-01-02T15:04:05.000Z"
	return from.UTC().Format(layout) + "/" + to.Add(-time.Millisecond).UTC().Format(layout)
}

// Items lists the items whose own date is the given UTC day, sorted by name.
// The pages of the load are shown as they arrive by ItemsLoading.
func (c *Catalog) Items(ctx context.Context, col Collection, year, month, day int) ([]*Item, error) {
	l, err := c.dayListing(ctx, col, year, month, day)
	if err != nil {
		return nil, err
	}
	sorted, _ := l.Sorted()
	return sorted, nil
}

// dayListing returns the complete listing of a day, loading it when it is
// not cached.
func (c *Catalog) dayListing(ctx context.Context, col Collection, year, month, day int) (*DayListing, error) {
	key, from, to, ok := dayKey(col, year, month, day)
	if !ok {
		return nil, fmt.Errorf("day %04d-%02d-%02d: %w", year, month, day, remote.ErrNotFound)
	}
	c.usedDay(key, 0)
	return c.items.get(ctx, key, c.dayLoad(key, col, from, to))
}

// dayLoad returns the load of the day listing key, the items of col in
// [from, to).
func (c *Catalog) dayLoad(key string, col Collection, from, to time.Time) func(context.Context) (*DayListing, error) {
	return func(ctx context.Context) (*DayListing, error) {
		live := c.loadingFor(key)
		defer c.dropLoading(key, live)
		list, err := c.loadDay(ctx, key, col, from, to, live)
		live.finish(list, err)
		if err != nil {
			return nil, err
		}
		c.usedDay(key, len(list))
		return live, nil
	}
}

// loadDay pages through the items of the day [from, to), showing them in
// live as pages arrive.
func (c *Catalog) loadDay(ctx context.Context, key string, col Collection, from, to time.Time, live *DayListing) ([]*Item, error) {
	day := from.Format(time.DateOnly)
	from, to, ok := c.clip(from, to)
	if !ok {
		return nil, nil
	}
	q := c.search(col.ID, from, to, c.o.PageLimit)
	sp := c.newSpool()
	seen := map[string]bool{}
	names := dayNames{taken: uniqueNames{}}
	var list []*Item
	full := false
	err := c.src.Search(ctx, q, func(p *remote.Page) bool {
		shown := len(list)
		for _, it := range p.Items {
			if !inside(it.Time, from, to) || seen[it.ID] {
				continue
			}
			if c.o.MaxItems > 0 && len(list)+len(names.held) == c.o.MaxItems {
				full = true
				return false
			}
			seen[it.ID] = true
			e := &Item{Item: it}
			if sp != nil {
				if doc, err := sp.add(it.Raw); err == nil {
					e.doc, e.Raw = doc, nil
				} else {
					c.log.Warn("item JSON kept in memory", "err", err)
					sp = nil
				}
			}
			if names.name(e) {
				list = append(list, e)
			}
		}
		if c.o.MaxItems == 0 {
			live.add(list[shown:]) // with a limit, nothing shows before the day is known to fit
		}
		c.makeRoom(key, len(list)+len(names.held))
		return true
	})
	if err != nil {
		return nil, wrapSearch(err, col.ID, q.Datetime)
	}
	if full {
		c.log.Error("day holds more items than max_items allows: not listed; raise max_items or narrow the day with a view (bbox, filter)",
			"collection", col.ID, "day", day, "max_items", c.o.MaxItems)
		return nil, fmt.Errorf("day %s of %s: over %d items: %w", day, col.ID, c.o.MaxItems, ErrTooManyItems)
	}
	if c.o.MaxItems > 0 {
		live.add(list)
	}
	rest := names.rest()
	live.add(rest)
	list = append(list, rest...)
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

// DefaultPageLimit is the page size asked when listing a day: the largest
// that common STAC APIs allow (most cap limit at 1000 or less, and answer
// a larger one with their cap).
const DefaultPageLimit = 1000

// newSpool returns a spool for the JSON of one day listing, or nil (the
// JSON then stays in memory) when none can be made.
func (c *Catalog) newSpool() *spool {
	sp, err := newSpool(c.o.SpoolDir)
	if err != nil {
		c.log.Warn("item JSON kept in memory", "err", err)
		return nil
	}
	return sp
}

// parallel runs fn(0..n-1) with at most Options.Parallel at once and
// returns the first error.
func (c *Catalog) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.Parallel)
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}
