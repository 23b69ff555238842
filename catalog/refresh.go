package catalog

import (
	"strconv"
	"strings"
	"time"
)

// Refresh expires the cached listings of a folder and of every folder below
// it, so that the next listing asks the server: the catalog's root when
// coll is "", else collection coll, or with year (month, day) its year
// (month, day) folder. The stats of the assets under it (their size and
// version, as the server gave them) expire too: the next open of one asks
// the server, and a changed asset is read in its new version. For a year,
// month or day, those are the assets of the items its cached day listings
// hold. Item documents are kept until their day is listed again.
func (c *Catalog) Refresh(coll string, year, month, day int) {
	c.refreshStats(coll, year, month, day)
	if coll == "" {
		c.colls.expireKeys(func(string) bool { return true })
	}
	under := func(k string) bool {
		parts := strings.Split(k, "\x00")
		return coll == "" || parts[0] == coll
	}
	c.dates.expireKeys(func(k string) bool {
		// coll, coll\x00Y (months of Y), coll\x00Y\x00M (days of M)
		parts := strings.Split(k, "\x00")
		if !under(k) || day != 0 {
			return false
		}
		if year != 0 && (len(parts) < 2 || parts[1] != strconv.Itoa(year)) {
			return false
		}
		return month == 0 || len(parts) == 3 && parts[2] == strconv.Itoa(month)
	})
	c.items.expireKeys(dayIn(coll, year, month, day))
}

// dayIn matches the items keys (coll\x00YYYY-MM-DD) of the days under a
// folder (see Refresh).
func dayIn(coll string, year, month, day int) func(string) bool {
	return func(k string) bool {
		parts := strings.Split(k, "\x00")
		if coll != "" && parts[0] != coll || len(parts) != 2 {
			return false
		}
		d, err := time.Parse(time.DateOnly, parts[1])
		return err == nil && (year == 0 || d.Year() == year) && (month == 0 || int(d.Month()) == month) && (day == 0 || d.Day() == day)
	}
}

// refreshStats expires the stats of the assets under a folder (see
// Refresh).
func (c *Catalog) refreshStats(coll string, year, month, day int) {
	if year == 0 {
		c.stats.expireKeys(func(id string) bool { return coll == "" || strings.HasPrefix(id, coll+"\x00") })
		return
	}
	for _, l := range c.items.values(dayIn(coll, year, month, day)) {
		items, _ := l.Sorted()
		for _, it := range items {
			c.RefreshItem(it)
		}
	}
}

// RefreshItem expires the stats of an item's assets (see Refresh): the
// next open of one asks the server for its size and version.
func (c *Catalog) RefreshItem(it *Item) {
	for i := range it.Assets {
		c.stats.expire(assetID(it, &it.Assets[i]), nil)
	}
}
