package catalog

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DayListing is the listing of a day folder while its pages load: the
// items of the pages parsed so far, each once, in the order the server
// sent them, so that a reader of the folder gets its first entries before
// the last page arrives. An item's name is final when it is shown: an id
// that is a usable file name as it is (nearly all) is its own name and is
// shown as its page arrives; the others (ids that need sanitising, and so
// might clash) are named once all pages are in, in id order, after the
// usable ids have taken theirs, and shown last.
//
// When the load ends, the listing is complete (Sorted) or failed: readers
// past the items shown get the error, never a short listing.
type DayListing struct {
	gen uint64 // tells listings apart without holding them (Gen)

	mu     sync.Mutex
	wake   chan struct{}    // closed and replaced when items arrive or the load ends
	items  []*Item          // shown so far, in arrival order
	byName map[string]*Item // items by name
	done   bool
	err    error
	sorted []*Item // the whole day by name, when done without error
}

func newDayListing() *DayListing {
	return &DayListing{gen: dayListings.Add(1), wake: make(chan struct{}), byName: map[string]*Item{}}
}

// dayListings numbers the DayListings made.
var dayListings atomic.Uint64

// Gen is a number of this listing's own: a holder that must tell whether
// a listing is the one it saw keeps it, not the listing (whose items an
// eviction must be able to free).
func (l *DayListing) Gen() uint64 { return l.gen }

// add shows items (named) after those already shown.
func (l *DayListing) add(items []*Item) {
	if len(items) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	for _, it := range items {
		l.items = append(l.items, it)
		l.byName[it.Name] = it
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// finish ends the load with the day sorted by name, or err. Only the first
// call counts. A complete listing finds names in sorted (no map).
func (l *DayListing) finish(sorted []*Item, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done, l.err, l.sorted = true, err, sorted
	if err == nil {
		l.byName = nil
	}
	close(l.wake)
}

// finishAs ends l as a copy of the complete listing c (or with err): l was
// registered while another load ended, and saw none of its pages. The copy
// shows the items in c's order.
func (l *DayListing) finishAs(c *DayListing, err error) {
	if err != nil || c == nil {
		l.finish(nil, err)
		return
	}
	c.mu.Lock()
	items, sorted := c.items, c.sorted
	c.mu.Unlock()
	l.mu.Lock()
	if !l.done && len(l.items) == 0 {
		l.items = items
	}
	l.mu.Unlock()
	l.finish(sorted, nil)
}

// Sorted returns the day sorted by name once the load has ended well.
func (l *DayListing) Sorted() ([]*Item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sorted, l.done && l.err == nil
}

// At returns the i-th item of the listing in the order shown, waiting
// until it arrives; nil past the last item of a complete listing; the
// load's error past the items shown of a failed one.
func (l *DayListing) At(ctx context.Context, i int) (*Item, error) {
	for {
		l.mu.Lock()
		n, done, err, wake := len(l.items), l.done, l.err, l.wake
		var it *Item
		if i < n {
			it = l.items[i]
		}
		l.mu.Unlock()
		switch {
		case it != nil:
			return it, nil
		case done:
			return nil, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Ready returns the i-th item when it has arrived, without waiting; ok
// is false when it has not (the listing may still bring it, or end).
func (l *DayListing) Ready(i int) (it *Item, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < len(l.items) {
		return l.items[i], true
	}
	return nil, false
}

// Find returns the item called name when it has been shown. done reports
// whether the load has ended (a nil item is then no item of a complete
// listing, or of a failed one).
func (l *DayListing) Find(name string) (it *Item, done bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byName == nil {
		i := sort.Search(len(l.sorted), func(i int) bool { return l.sorted[i].Name >= name })
		if i < len(l.sorted) && l.sorted[i].Name == name {
			return l.sorted[i], l.done
		}
		return nil, l.done
	}
	return l.byName[name], l.done
}

// Shown returns how many items are shown so far.
func (l *DayListing) Shown() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Done reports whether the load has ended, and its error.
func (l *DayListing) Done() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done, l.err
}

// dayNames names the items of a day as they arrive (see DayListing): ids
// usable as they are keep them at once; the others are held and named at
// the end.
type dayNames struct {
	taken uniqueNames
	held  []*Item
}

// name names it and reports whether it can be shown now.
func (n *dayNames) name(it *Item) bool {
	if name := Sanitize(it.ID); name != "" && name == it.ID {
		it.Name = name
		n.taken[name] = true
		return true
	}
	n.held = append(n.held, it)
	return false
}

// rest names the held items, in id order, around the names taken.
func (n *dayNames) rest() []*Item {
	sort.Slice(n.held, func(i, j int) bool { return n.held[i].ID < n.held[j].ID })
	for _, it := range n.held {
		it.Name = n.taken.take(it.ID, "item")
	}
	return n.held
}

// dayKey is the key of a day's listing, and the day's interval.
func dayKey(col Collection, year, month, day int) (key string, from, to time.Time, ok bool) {
	from = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	to = from.AddDate(0, 0, 1)
	if from.Year() != year || int(from.Month()) != month || from.Day() != day {
		return "", from, to, false
	}
	return col.ID + "\x00" + from.Format(time.DateOnly), from, to, true
}

// ItemsLoading returns the listing of a day: complete when it is cached,
// else the listing being loaded (starting the load when none runs). A day
// listed before whose listing expired is reloaded and waited for, so that
// a reload that fails shows the last listing (see memo).
func (c *Catalog) ItemsLoading(ctx context.Context, col Collection, year, month, day int) (*DayListing, error) {
	key, _, _, ok := dayKey(col, year, month, day)
	if !ok {
		_, err := c.Items(ctx, col, year, month, day) // its error
		return nil, err
	}
	if l, ok := c.items.peek(key); ok {
		c.usedDay(key, 0)
		return l, nil
	}
	if c.items.hasValue(key) {
		return c.dayListing(ctx, col, year, month, day)
	}
	c.mu.Lock()
	l := c.loading[key]
	start := l == nil
	if start {
		l = newDayListing()
		c.loading[key] = l
	}
	c.mu.Unlock()
	if start {
		go func() {
			// The load runs detached (memo); this waits for it, and
			// finishes l when the load that ran was not the one that
			// fed it (it ended just before l was registered).
			done, err := c.dayListing(context.WithoutCancel(ctx), col, year, month, day)
			if done != l {
				l.finishAs(done, err)
			}
			c.dropLoading(key, l)
		}()
	}
	return l, nil
}

// loadingFor returns the listing that the load of key feeds.
func (c *Catalog) loadingFor(key string) *DayListing {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.loading[key]
	if l == nil {
		l = newDayListing()
		c.loading[key] = l
	}
	return l
}

// dropLoading forgets l as the listing of key once its load ended.
func (c *Catalog) dropLoading(key string, l *DayListing) {
	c.mu.Lock()
	if c.loading[key] == l {
		delete(c.loading, key)
	}
	c.mu.Unlock()
}
