package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/catalog"
)

// A day folder is listed from the catalog's day listing
// (catalog.DayListing), which can be read while its pages load: go-fuse
// asks the open folder for one entry at a time (FileReaddirenter) while it
// fills each READDIR(PLUS) answer, so the first answers (`ls -f | head`, a
// program reading the first names) go out while later pages download. Its
// entries come in the order the server sent them, each once, the same for
// every open of one listing (loading or complete); offsets are positions
// in that order (seekdir and rewinddir work), and a page that fails ends
// the listing with its error (EIO), never a short listing. The kernel
// keeps the entries of a complete listing (FOPEN_CACHE_DIR) while it stays
// the same: a folder opens without it while its listing loads, or when
// the catalog's listing is another than the one the kernel may hold
// (reloaded after the TTL), which drops the kernel's copy.

// pager is a lister whose listing is a catalog.DayListing (a day folder).
type pager interface {
	lister
	// dayListing returns the listing (loading or complete), or nil for
	// a folder that is not a day.
	dayListing(ctx context.Context) (*catalog.DayListing, error)
	// itemChild is the child for one item of the listing.
	itemChild(it *catalog.Item) child
}

func (d dateDir) dayListing(ctx context.Context) (*catalog.DayListing, error) {
	if d.day == 0 {
		return nil, nil
	}
	return d.cat.ItemsLoading(ctx, d.col, d.year, d.month, d.day)
}

// pagingHandle returns the handle of a day folder and its open flags, or
// nil for other folders.
func (d *dir) pagingHandle(ctx context.Context) (*dirHandle, uint32, syscall.Errno) {
	pg, ok := d.l.(pager)
	if !ok {
		return nil, 0, 0
	}
	live, err := pg.dayListing(ctx)
	if err != nil {
		return nil, 0, d.fs.failList("opendir", d.path, err)
	}
	if live == nil {
		return nil, 0, 0
	}
	var flags uint32
	if done, _ := live.Done(); !done {
		// The kernel's copy of a listing read as it loads did not serve
		// the next `ls` (on Linux 6.18 the two listings after it still
		// reached stacfs): it keeps none, and keeps the first complete one.
		d.cache.claim(nil)
	} else if d.cache.claim(live.Gen()) {
		flags = fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
	}
	return &dirHandle{d: d, live: live, pg: pg}, flags, 0
}

// liveEntry returns the next entry of a loading listing (nil at its end).
//
// go-fuse calls it for each entry of a READDIR answer, with that request's
// context. The first entry of an answer waits for its page; a later entry
// that has not arrived ends the answer (with the entries it holds: the
// kernel asks again, and that request waits). An errno is only returned
// first in an answer: go-fuse keeps an errno met after the first entry
// and, in v2.12, answers it again in place of every entry that overflows
// a later answer (its overflowErrno is never reset), losing entries. So
// the wait is not cut short by an interrupt (a signal the reader handles;
// the kernel gives up on the request itself when the reader dies): it is
// bounded by the catalog's load timeout.
func (h *dirHandle) liveEntry(ctx context.Context) (_ *fuse.DirEntry, errno syscall.Errno) {
	if !h.listed { // one readdir operation per open, as for other folders
		h.listed = true
		defer h.d.fs.op("readdir", h.d.path, &errno)()
	}
	first := ctx != h.answer
	h.answer = ctx
	var it *catalog.Item
	if first {
		var err error
		if it, err = h.live.At(context.WithoutCancel(ctx), h.pos); err != nil {
			return nil, h.d.fs.failList("readdir", h.d.path, err) // the folder is there: a page of it failed
		}
	} else {
		it, _ = h.live.Ready(h.pos)
	}
	if it == nil {
		return nil, 0
	}
	h.pos++
	return &fuse.DirEntry{Name: it.Name, Mode: syscall.S_IFDIR | 0o555, Ino: ino(join(h.d.path, it.Name))}, 0
}

// liveLookup answers a READDIRPLUS lookup of an entry of a loading listing
// from the items shown (a map), without waiting for the rest.
func (h *dirHandle) liveLookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	if it, _ := h.live.Find(name); it != nil {
		return h.d.lookupChild(ctx, h.pg.itemChild(it), out, true)
	}
	return h.d.lookup(ctx, name, out, true)
}

// findLoading finds name in a day listing (loading: among the items
// shown, so that a lookup does not wait for the last page; complete: by
// binary search); ok is false when name has not arrived yet (list then
// waits for the rest) or the folder is not a day.
func (d *dir) findLoading(ctx context.Context, name string) (child, bool) {
	pg, ok := d.l.(pager)
	if !ok {
		return child{}, false
	}
	live, err := pg.dayListing(ctx)
	if err != nil || live == nil {
		return child{}, false
	}
	if it, _ := live.Find(name); it != nil {
		return pg.itemChild(it), true
	}
	return child{}, false
}
