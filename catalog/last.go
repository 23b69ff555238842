package catalog

import "context"

// A lookup of one name need not wait for its folder's reload after the
// TTL: when the name is in the folder's last listing, that listing is
// served while the reload runs in the background (stale while
// revalidating), so a program opening paths it knows does not wait, every
// metadata_ttl, for the date probes of a year (12 searches) and a month (28
// to 31), or for every page of a big day. The Last methods give that
// listing; a name they do not hold is looked up in the listing that get
// waits for (it may be new), and a folder that `stacfs refresh` expired
// has no last listing until it reloaded.

// LastCollections returns the last listing of the collection folders
// without waiting (see memo.last): fresh, or past its TTL while it
// reloads. ok is false when none loaded, or after a refresh.
func (c *Catalog) LastCollections(ctx context.Context) (cols []Collection, fresh, ok bool) {
	return c.colls.last(ctx, "", c.loadCollections)
}

// LastUnits is Years (year 0), Months (month 0) or Days as last listed,
// without waiting (see LastCollections).
func (c *Catalog) LastUnits(ctx context.Context, col Collection, year, month int) (units []int, fresh, ok bool) {
	key, load := c.unitsLoad(col, year, month)
	return c.dates.last(ctx, key, load)
}

// LastDay returns the last complete listing of a day without waiting (see
// LastCollections).
func (c *Catalog) LastDay(ctx context.Context, col Collection, year, month, day int) (l *DayListing, fresh, ok bool) {
	key, from, to, valid := dayKey(col, year, month, day)
	if !valid {
		return nil, false, false
	}
	if l, fresh, ok = c.items.last(ctx, key, c.dayLoad(key, col, from, to)); ok {
		c.usedDay(key, 0)
	}
	return l, fresh, ok
}

// UnitsFailed is the error of the last reload of Years (year 0), Months
// (month 0) or Days when they serve the listing before it (stale after a
// failed reload), else nil: a name that listing lacks is then unknown,
// not missing (the server may hold it now).
func (c *Catalog) UnitsFailed(col Collection, year, month int) error {
	key, _ := c.unitsLoad(col, year, month)
	return c.dates.failed(key)
}

// DayFailed is UnitsFailed for the items of a day.
func (c *Catalog) DayFailed(col Collection, year, month, day int) error {
	key, _, _, ok := dayKey(col, year, month, day)
	if !ok {
		return nil
	}
	return c.items.failed(key)
}

// CollectionsFailed is UnitsFailed for the collection folders.
func (c *Catalog) CollectionsFailed() error {
	return c.colls.failed("")
}
