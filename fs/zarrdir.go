package fs

import (
	"context"
	"fmt"

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
			return child{e.Name, &assetFile{fs: d.fs, cat: d.cat, item: d.item, asset: ka, path: p, mtime: d.item.Time}, 0}
		},
	}, nil
}
