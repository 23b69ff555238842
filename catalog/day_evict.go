package catalog

import "time"

// DefaultListedItems is how many items of day listings a catalog keeps
// cached when Options.ListedItems is 0: one big day (Sentinel-1 bursts:
// tens of thousands of items, ~2 KB of memory each) and the small ones
// around it.
const DefaultListedItems = 60000

// dayUse is a cached day listing's size and when it was last used.
type dayUse struct {
	n    int
	used time.Time
}

// usedDay notes that the listing of key was used (n > 0: it holds n
// items, as loaded).
func (c *Catalog) usedDay(key string, n int) {
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.days[key]
	if d == nil {
		if n == 0 {
			return // not loaded yet
		}
		d = &dayUse{}
		c.days[key] = d
	}
	if n > 0 {
		d.n = n
	}
	d.used = now
}

// makeRoom evicts the least recently used cached day listings other than
// key while they and the n items of key loaded so far are more than
// Options.ListedItems: listings of other days are what a big day's
// memory is taken from. An evicted day is loaded again when next used.
func (c *Catalog) makeRoom(key string, n int) {
	var evict []string
	c.mu.Lock()
	total := n
	for k, d := range c.days {
		if k != key {
			total += d.n
		}
	}
	for total > c.o.ListedItems {
		oldest := ""
		for k, d := range c.days {
			if k != key && (oldest == "" || d.used.Before(c.days[oldest].used)) {
				oldest = k
			}
		}
		if oldest == "" {
			break
		}
		total -= c.days[oldest].n
		delete(c.days, oldest)
		evict = append(evict, oldest)
	}
	c.mu.Unlock()
	for _, k := range evict {
		c.items.forgetDone(k)
		c.log.Debug("day listing evicted", "day", k)
	}
}
