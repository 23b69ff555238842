package fs

// RefreshXattr is the extended attribute whose read on a folder makes the
// catalog list that folder and every folder below it again at their next
// listing, instead of after metadata_ttl, and the next open of a file
// below it ask the server for its size and version (stacfs refresh PATH
// reads it). It is not listed by listxattr, so getfattr -d never triggers it.
const RefreshXattr = "user.stacfs.refresh"

// refresher is a folder whose listings can be refreshed.
type refresher interface{ refresh() }

func (r rootDir) refresh() {
	for _, c := range r.fs.o.Catalogs {
		catalogDir{fs: r.fs, cat: c}.refresh()
	}
	for _, p := range r.fs.o.Pending {
		pendingDir{fs: r.fs, p: p}.refresh()
	}
}

func (d catalogDir) refresh() {
	d.cat.Refresh("", 0, 0, 0)
	viewsDir{views: d.cat.Views()}.refresh()
}

func (d viewsDir) refresh() {
	for _, v := range d.views {
		v.Catalog.Refresh("", 0, 0, 0)
	}
}

func (d dateDir) refresh() { d.cat.Refresh(d.col.ID, d.year, d.month, d.day) }

// refresh of an item folder (or a sub-folder of it): its files' next opens
// ask the server for their size and version.
func (d itemDir) refresh() { d.cat.RefreshItem(d.item) }

// refreshed is the value of RefreshXattr: what was done.
var refreshed = []byte("refreshed")

// refreshDir refreshes d's listings and the stats of the files below it
// (a folder that has neither, such as a zip's, has nothing to refresh) and
// returns RefreshXattr's value.
func refreshDir(d *dir) []byte {
	if r, ok := d.l.(refresher); ok {
		r.refresh()
	}
	return refreshed
}
