package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/stacfs/stacfs/remote"
	"github.com/stacfs/stacfs/zarrstore"
)

// A Zarr asset's folder shows the store's keys (package zarrstore lists
// them); each key reads as an asset of its own at href/key, through the
// block cache, auth and scope like any asset.

// StoreKeyRole is the role of the assets that a Zarr store's keys read as
// (StoreKey); their asset key is the store asset's key, "/" and the key.
const StoreKeyRole = "zarr-key"

// storeKeyHead is how much of a store key a stat reads: a whole chunk of
// the usual sizes, so that stat and read cost one request together (the
// bytes are primed into the block cache).
const storeKeyHead = 4 << 20

// maxStoreMetadata bounds a store's metadata document (.zmetadata).
const maxStoreMetadata = 64 << 20

// headSizeOf is how much of an asset Stat reads.
func (c *Catalog) headSizeOf(a *remote.Asset) int {
	if slices.Contains(a.Roles, StoreKeyRole) {
		return max(c.headSize(), storeKeyHead)
	}
	return c.headSize()
}

// StoreKey returns the asset that key of the Zarr store a reads as: a GET
// of the store's URL joined with key (its query, a signature, kept). Its
// size is unknown until stated.
func (c *Catalog) StoreKey(it *Item, a *remote.Asset, key string) (*remote.Asset, error) {
	u, err := c.url(it, a)
	if err != nil {
		return nil, err
	}
	p, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("zarr store %q: %w", a.Key, err)
	}
	return &remote.Asset{Key: a.Key + "/" + key, Href: p.JoinPath(key).String(), Roles: []string{StoreKeyRole}, Size: -1}, nil
}

// Store returns the listing of a Zarr asset's store, read from its root
// metadata (see zarrstore.Open) and cached for the metadata TTL.
func (c *Catalog) Store(ctx context.Context, it *Item, a *remote.Asset) (*zarrstore.Store, error) {
	m := c.containerMemos()
	return m.stores.get(ctx, assetID(it, a), func(ctx context.Context) (*zarrstore.Store, error) {
		// Object stores that do not let anyone list a bucket answer 403,
		// not 404, for a key they do not have: while looking for the
		// root's metadata a refusal counts as absent, and is the error
		// when nothing is found.
		var denied error
		s, err := zarrstore.Open(ctx, func(ctx context.Context, key string) ([]byte, bool, error) {
			b, found, err := c.readStoreKey(ctx, it, a, key)
			if errors.Is(err, remote.ErrDenied) {
				if denied == nil {
					denied = err
				}
				return nil, false, nil
			}
			return b, found, err
		})
		if errors.Is(err, zarrstore.ErrNotStore) && denied != nil {
			err = denied
		}
		if err != nil {
			return nil, fmt.Errorf("zarr store %q of %s: %w", a.Key, it.ID, err)
		}
		return s, nil
	})
}

// readStoreKey reads a store key whole (a metadata document); found is
// false when the server does not have it.
func (c *Catalog) readStoreKey(ctx context.Context, it *Item, a *remote.Asset, key string) ([]byte, bool, error) {
	ka, err := c.StoreKey(it, a, key)
	if err != nil {
		return nil, false, err
	}
	var data []byte
	err = c.withURL(ctx, it, ka, func(u string) error {
		b, info, err := c.rd.ReadHead(ctx, u, maxStoreMetadata)
		if err != nil {
			return err
		}
		if info.Size > int64(len(b)) {
			return fmt.Errorf("zarr %s: %d bytes, more than %d", key, info.Size, maxStoreMetadata)
		}
		data = b
		return nil
	})
	if errors.Is(err, remote.ErrNotFound) {
		return nil, false, nil
	}
	return data, err == nil, err
}

// absentStoreKey is a key no Zarr store holds: what the server answers for
// it is its answer for a key it does not have (StoreDeniesMissing).
const absentStoreKey = ".stacfs-absent-key"

// StoreDeniesMissing reports whether the server of the Zarr store a
// answers 403 (not 404) for a key it does not have, as object stores that
// forbid listing a bucket do: a 403 for a chunk then means the chunk is
// missing (the fill value), else it is a refusal. It asks for a key no
// store holds, once per store (cached for the metadata TTL); an error
// when that request fails otherwise (the server down).
func (c *Catalog) StoreDeniesMissing(ctx context.Context, it *Item, a *remote.Asset) (bool, error) {
	return c.containerMemos().denies.get(ctx, assetID(it, a), func(ctx context.Context) (bool, error) {
		_, _, err := c.readStoreKey(ctx, it, a, absentStoreKey)
		if errors.Is(err, remote.ErrDenied) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("zarr store %q of %s: what a missing key answers: %w", a.Key, it.ID, err)
		}
		return false, nil // 404 (or, oddly, found)
	})
}
