package catalog

import "github.com/stacfs/stacfs/remote"

// An item's file:size tells an asset's size without a request (a listing
// makes none), but it can be wrong. Once the server's length is known (a
// stat: the open's), the server wins where they differ: Size reports the
// server's length from then on and reads end at its end, so that a copy
// is never cut short or padded silently. The first time for an asset, a
// WARN names the item, the asset and both sizes.

// noteSize records the server's length n of an asset, learnt by a stat.
func (c *Catalog) noteSize(it *Item, a *remote.Asset, n int64) {
	if a.Size < 0 || n < 0 {
		return
	}
	id := assetID(it, a)
	c.mu.Lock()
	_, had := c.serverSizes[id]
	if n == a.Size {
		delete(c.serverSizes, id)
	} else {
		c.serverSizes[id] = n
	}
	c.mu.Unlock()
	if n != a.Size && !had {
		c.log.Warn("the server's size of an asset differs from its item's file:size; the server's is used",
			"collection", it.Collection, "item", it.ID, "asset", a.Key, "file:size", a.Size, "server_size", n)
	}
}
