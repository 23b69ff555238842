package fs

// RefreshXattr is the extended attribute whose read on a folder makes the
// catalog list that folder and every folder below it again at their next
// listing, instead of after metadata_ttl (stacfs refresh PATH reads it).
// It is not listed by listxattr, so getfattr -d never triggers it.
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

// refreshed is the value of RefreshXattr: what was done.
var refreshed = []byte("refreshed")

// refreshDir refreshes d's listings (a folder that has none, such as an
// item's, has nothing to refresh) and returns RefreshXattr's value.
func refreshDir(d *dir) []byte {
	if r, ok := d.l.(refresher); ok {
		r.refresh()
	}
	return refreshed
}
