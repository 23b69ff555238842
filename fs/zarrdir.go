package fs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
	"github.com/stacfs/stacfs/zarrstore"
)

// zarrFolder is the folder of a Zarr asset: its store's keys.
func (d itemDir) zarrFolder(a *remote.Asset, p string) node {
	return &dir{fs: d.fs, path: p, mtime: d.item.Time, l: zarrDir{fs: d.fs, cat: d.cat, item: d.item, store: a, path: p}}
}

// zarrDir lists a folder of a Zarr store: the store's root (key == ""), or
// the folder of keys below key. Its files are the store's keys, each read
// as an asset (a GET of href/key through the block cache); their sizes are
// unknown until stated, so listing makes no request.
type zarrDir struct {
	fs    *FS
	cat   *catalog.Catalog
	item  *catalog.Item
	store *remote.Asset
	key   string
	path  string
}

// zarrVer is the version of a store folder's listing.
type zarrVer struct {
	s   *zarrstore.Store
	key string
}

func (d zarrDir) list(ctx context.Context) (listing, error) {
	s, err := d.cat.Store(ctx, d.item, d.store)
	if err != nil {
		return listing{}, err
	}
	es, ok := s.List(d.key)
	if !ok {
		return listing{}, fmt.Errorf("zarr folder %s: %w", d.path, remote.ErrNotFound)
	}
	return listing{
		ver:  zarrVer{s, d.key},
		n:    len(es),
		name: func(i int) string { return es[i].Name },
		mode: func(i int) uint32 { return entryMode(es[i].Dir) },
		child: func(i int) child {
			e := es[i]
			p := join(d.path, e.Name)
			key := e.Name
			if d.key != "" {
				key = d.key + "/" + e.Name
			}
			if e.Dir {
				sub := d
				sub.key, sub.path = key, p
				return child{e.Name, &dir{fs: d.fs, path: p, mtime: d.item.Time, l: sub}, 0}
			}
			ka, err := d.cat.StoreKey(d.item, d.store, key)
			if err != nil { // the store's URL was usable for its listing: cannot happen
				ka = &remote.Asset{Key: key, Size: -1}
			}
			return child{e.Name, &assetFile{fs: d.fs, cat: d.cat, item: d.item, asset: ka, path: p, mtime: d.item.Time, store: d.store}, 0}
		},
	}, nil
}

// A Zarr reader takes a key that fails at stat for a missing chunk, and
// fills it: zarr 2's DirectoryStore asks os.path.isfile, which turns every
// error into "no such file". So a key's stat fails only when the key is
// missing: a 404, or a 403 from a store that answers 403 for a key it does
// not have (catalog.StoreDeniesMissing). Any other failure (5xx, reset,
// timeout, a 403 that is a refusal) shows the key as a file of unknown
// size (failedKeySize, attributes not cached, as a stream's), and its open
// fails with the error (EIO; EACCES for a refusal) and an ERROR log naming
// the store and the key: the reader raises instead of filling the chunk.

// failedKeySize is the size shown for a Zarr key whose stat failed. Not 0:
// GNU tar and bsdtar archive a file of size 0 without opening it, so they
// would store an empty chunk with no error; cp, tar and the rest open a
// file of size 1, and fail.
const failedKeySize = 1

// statFailed is the errno of a stat that failed with err; 0 for a Zarr key
// that is then shown as a file of unknown size (see above).
func (a *assetFile) statFailed(ctx context.Context, err error) syscall.Errno {
	if a.store == nil || errors.Is(err, remote.ErrNotFound) || errors.Is(err, context.Canceled) {
		return a.fs.fail("stat", a.path, err)
	}
	if errors.Is(err, remote.ErrDenied) {
		denies, perr := a.cat.StoreDeniesMissing(ctx, a.item, a.store)
		if perr == nil && denies {
			a.fs.log.Debug("zarr key denied, as the store answers for a missing key: missing", "path", a.path, "err", err)
			return syscall.ENOENT
		}
	}
	a.fs.log.Warn("zarr key stat failed: shown with an unknown size, its open fails so that readers raise rather than fill the chunk",
		"path", a.path, "store", a.store.Key, "item", a.item.ID, "key", a.zarrKey(), "err", err)
	return 0
}

// failed is fs.fail for the open and read of an asset file; a Zarr key's
// failure (but a missing key or an interrupt) is an ERROR naming the
// store and the key: its reader gets an error instead of the chunk.
func (a *assetFile) failed(op string, err error) syscall.Errno {
	errno := toErrno(err)
	if a.store == nil || errno == syscall.ENOENT || errno == syscall.EINTR {
		return a.fs.fail(op, a.path, err)
	}
	a.fs.log.Error("zarr key unreadable: its reader gets an error, not the fill value",
		"op", op, "path", a.path, "store", a.store.Key, "item", a.item.ID, "key", a.zarrKey(), "errno", errno.Error(), "err", err)
	return errno
}

// zarrKey is the key of the store this file reads.
func (a *assetFile) zarrKey() string {
	if k, ok := strings.CutPrefix(a.asset.Key, a.store.Key+"/"); ok {
		return k
	}
	return a.asset.Key
}
