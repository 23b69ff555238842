package catalog

import (
	"strconv"
	"strings"
	"time"
)

// Refresh expires the cached listings of a folder and of every folder below
// it, so that the next listing asks the server: the catalog's root when
// coll is "", else collection coll, or with year (month, day) its year
// (month, day) folder. Sizes of assets and item documents are kept: a
// published item does not change.
func (c *Catalog) Refresh(coll string, year, month, day int) {
	if coll == "" {
		c.colls.expireIf(func(string) bool { return true })
	}
	under := func(k string) bool {
		parts := strings.Split(k, "\x00")
		return coll == "" || parts[0] == coll
	}
	c.dates.expireIf(func(k string) bool {
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
	c.items.expireIf(func(k string) bool {
		// coll\x00YYYY-MM-DD
		parts := strings.Split(k, "\x00")
		if !under(k) || len(parts) != 2 {
			return false
		}
		d, err := time.Parse(time.DateOnly, parts[1])
		return err == nil && (year == 0 || d.Year() == year) && (month == 0 || int(d.Month()) == month) && (day == 0 || d.Day() == day)
	})
}
