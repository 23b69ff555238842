package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/catalog"
)

// A day folder whose listing is still loading is listed as its pages
// arrive: go-fuse asks the open folder for one entry at a time
// (FileReaddirenter) while it fills each READDIR(PLUS) answer, so the
// first answers (`ls -f | head`, a program reading the first names) go out
// while later pages download. The open folder keeps the catalog's loading
// listing (catalog.DayListing): its entries come in the order the server
// sent them, each once, offsets are positions in that order (seekdir and
// rewinddir work for the life of the handle), and a page that fails ends
// the listing with its error (EIO), never a short listing. Such a folder
// opens without FOPEN_CACHE_DIR: the kernel keeps no partial copy; once
// the listing is complete and cached, the folder opens as any other
// (sorted by name, kept by the kernel).

// pager is a lister whose listing may still be loading, page by page.
type pager interface {
	lister
	// loading returns the listing being loaded, or nil when it is
	// complete (list then answers at once).
	loading(ctx context.Context) (*catalog.DayListing, error)
	// itemChild is the child for one item of the listing.
	itemChild(it *catalog.Item) child
}

func (d dateDir) loading(ctx context.Context) (*catalog.DayListing, error) {
	if d.day == 0 {
		return nil, nil
	}
	return d.cat.ItemsLoading(ctx, d.col, d.year, d.month, d.day)
}

// pagingHandle returns the handle of a folder whose listing is loading, or
// nil when it is complete.
func (d *dir) pagingHandle(ctx context.Context) (*dirHandle, syscall.Errno) {
	pg, ok := d.l.(pager)
	if !ok {
		return nil, 0
	}
	live, err := pg.loading(ctx)
	if err != nil {
		return nil, d.fs.fail("opendir", d.path, err)
	}
	if live == nil {
		return nil, 0
	}
	if done, err := live.Done(); done && err == nil {
		return nil, 0 // complete already: listed from the cache
	}
	return &dirHandle{d: d, live: live, pg: pg}, 0
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
			errno = h.d.fs.fail("readdir", h.d.path, err)
			if errno == syscall.ENOENT {
				errno = syscall.EIO // the folder is there: a page of it failed
			}
			return nil, errno
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

// findLoading finds name among the items shown of a listing that is still
// loading, so that a lookup does not wait for the last page; ok is false
// when the listing is complete or name has not arrived yet.
func (d *dir) findLoading(ctx context.Context, name string) (child, bool) {
	pg, ok := d.l.(pager)
	if !ok {
		return child{}, false
	}
	live, err := pg.loading(ctx)
	if err != nil || live == nil {
		return child{}, false
	}
	if it, _ := live.Find(name); it != nil {
		return pg.itemChild(it), true
	}
	return child{}, false
}
