package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// ErrNoURL means an asset has no href that can be read (over HTTP, or through
// Options.Href).
var ErrNoURL = errors.New("asset has no readable href")

// ErrUnknownSize means an asset's size is known neither from the item nor
// from the server: it can only be read as a stream (OpenStream).
var ErrUnknownSize = errors.New("size unknown")

// AssetURL returns the URL that an asset's bytes are read from: its href
// when it is http(s), else an http(s) alternate (alternate-assets
// extension), preferring "download".
func AssetURL(a *remote.Asset) (string, error) {
	if isHTTP(a.Href) {
		return a.Href, nil
	}
	if h := a.Alternates["download"]; isHTTP(h) {
		return h, nil
	}
	for _, k := range slices.Sorted(maps.Keys(a.Alternates)) {
		if isHTTP(a.Alternates[k]) {
			return a.Alternates[k], nil
		}
	}
	return "", fmt.Errorf("asset %q (%s): %w", a.Key, remote.RedactURL(a.Href), ErrNoURL)
}

func isHTTP(s string) bool {
	return len(s) > 7 && (s[:7] == "http://" || (len(s) > 8 && s[:8] == "https://"))
}

// assetID names an asset independently of its (possibly re-signed) URL.
func assetID(it *Item, a *remote.Asset) string {
	return it.Collection + "\x00" + it.ID + "\x00" + a.Key
}

// url returns the URL to read an asset from: a re-signed one when the
// catalog has fetched the item again, else the item's own.
func (c *Catalog) url(it *Item, a *remote.Asset) (string, error) {
	c.mu.Lock()
	u, ok := c.hrefs[assetID(it, a)]
	c.mu.Unlock()
	if ok {
		return u, nil
	}
	return c.assetURL(a)
}

// assetURL chooses the URL an asset is read from: Options.Href, else AssetURL.
func (c *Catalog) assetURL(a *remote.Asset) (string, error) {
	if c.o.Href == nil {
		return AssetURL(a)
	}
	if u, ok := c.o.Href(a); ok {
		return u, nil
	}
	return "", fmt.Errorf("asset %q (%s): %w", a.Key, remote.RedactURL(a.Href), ErrNoURL)
}

// renew fetches the item again for a fresh href of the asset (presigned and
// SAS URLs expire), after a read was refused with old. It returns the new
// URL, or an error when the item gives the same one.
func (c *Catalog) renew(ctx context.Context, it *Item, a *remote.Asset, old string) (string, error) {
	fresh, err := c.src.Item(ctx, it.Collection, it.ID)
	if err != nil {
		return "", fmt.Errorf("renew asset URL of %s/%s: %w", it.Collection, it.ID, err)
	}
	for i := range fresh.Assets {
		if fresh.Assets[i].Key != a.Key {
			continue
		}
		u, err := c.assetURL(&fresh.Assets[i])
		if err != nil {
			return "", err
		}
		if u == old {
			return "", fmt.Errorf("renew asset URL of %s/%s %q: the item gives the same URL", it.Collection, it.ID, a.Key)
		}
		c.mu.Lock()
		c.hrefs[assetID(it, a)] = u
		c.mu.Unlock()
		c.log.Info("asset URL renewed", "collection", it.Collection, "item", it.ID, "asset", a.Key)
		return u, nil
	}
	return "", fmt.Errorf("renew asset URL of %s/%s: asset %q is gone: %w", it.Collection, it.ID, a.Key, remote.ErrNotFound)
}

// withURL runs op with the asset's URL; when the server refuses it
// (401/403: an expired presigned URL), it renews the URL once and runs op
// again, transparently to the reader.
func (c *Catalog) withURL(ctx context.Context, it *Item, a *remote.Asset, op func(u string) error) error {
	u, err := c.url(it, a)
	if err != nil {
		return err
	}
	err = op(u)
	if !errors.Is(err, remote.ErrDenied) {
		return err
	}
	nu, rerr := c.renew(ctx, it, a, u)
	if rerr != nil {
		c.log.Debug("asset URL not renewed", "err", rerr)
		return err
	}
	return op(nu)
}

// headSize is how much of an asset Stat reads: one block of the cache, so
// the head it learns the size from is cached whole (a COG's header).
func (c *Catalog) headSize() int {
	if c.o.Cache != nil {
		return c.o.Cache.BlockSize()
	}
	return 64 << 10
}

// StaleStatWait is how long a stat past its TTL waits for its reload
// before the last stat is served (stale while revalidating): a server
// that is down costs an open this much, not the reload's retries, and a
// healthy one answers within it, so that a changed asset is seen at open.
const StaleStatWait = time.Second

// Stat returns what the server says of an asset (size, version), cached.
// One ranged GET of the head answers it (no HEAD request), and the head's
// bytes go to the block cache. Past the TTL, the last stat is served if
// its reload takes longer than StaleStatWait (the reload goes on in the
// background; reads send its ETag with If-Match, so a changed asset is
// caught at read, ErrChanged); after a refresh, or once a read found the
// asset changed, Stat waits for the server.
func (c *Catalog) Stat(ctx context.Context, it *Item, a *remote.Asset) (remote.Info, error) {
	return c.stats.getStale(ctx, assetID(it, a), StaleStatWait, func(ctx context.Context) (remote.Info, error) {
		var info remote.Info
		err := c.withURL(ctx, it, a, func(u string) error {
			head, i, err := c.rd.ReadHead(ctx, u, c.headSizeOf(a))
			if err != nil {
				return fmt.Errorf("stat asset %q of %s: %w", a.Key, it.ID, err)
			}
			info = i
			if c.o.Cache != nil && info.Ranges && info.Size >= 0 {
				c.o.Cache.Prime(cache.Object{Key: objectKey(u, info), Size: info.Size}, 0, head)
			}
			return nil
		})
		if err == nil {
			c.noteSize(it, a, info.Size)
		}
		return info, err
	})
}

// changed forgets an asset's stat once a read of version found it
// changed (ErrChanged): the next open stats it again and reads the new
// version, instead of failing with the old one until the TTL.
func (c *Catalog) changed(it *Item, a *remote.Asset, version string) {
	c.stats.expire(assetID(it, a), func(i remote.Info) bool { return i.Version() == version })
}

// objectKey is an asset's cache key: its URL without signatures (they
// change when re-signed, the object does not) and its version.
func objectKey(u string, info remote.Info) string {
	return remote.UnsignedURL(u) + "\x00" + info.Version()
}

// Size returns an asset's size: file:size when the item gives it, else what
// the server says (cached). It is -1 when neither knows.
func (c *Catalog) Size(ctx context.Context, it *Item, a *remote.Asset) (int64, error) {
	if n, ok := c.knownSize(it, a); ok {
		return n, nil
	}
	info, err := c.Stat(ctx, it, a)
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// SizeKnown reports whether Size can answer for an asset without a request:
// the item gives file:size, or the server's answer (or a whole read) is
// still fresh in the catalog's cache.
func (c *Catalog) SizeKnown(it *Item, a *remote.Asset) bool {
	_, ok := c.knownSize(it, a)
	return ok
}

// knownSize returns the size Size would give without a request, if any.
func (c *Catalog) knownSize(it *Item, a *remote.Asset) (int64, bool) {
	id := assetID(it, a)
	c.mu.Lock()
	n, wrong := c.serverSizes[id]
	if !wrong {
		n, wrong = c.streamed[id]
	}
	c.mu.Unlock()
	if a.Size >= 0 && !wrong {
		return a.Size, true
	}
	if wrong {
		return n, true
	}
	if info, ok := c.stats.peek(id); ok {
		return info.Size, true
	}
	return 0, false
}

// Object returns an asset as a cache object: its key holds the URL (without
// query) and the version seen now, so a changed asset never mixes with old
// blocks. It fails with ErrUnknownSize or ErrNoRange (see StreamOnly) for
// an asset that can only be streamed.
func (c *Catalog) Object(ctx context.Context, it *Item, a *remote.Asset) (cache.Object, error) {
	u, err := c.url(it, a)
	if err != nil {
		return cache.Object{}, err
	}
	info, err := c.Stat(ctx, it, a)
	if err != nil {
		return cache.Object{}, err
	}
	size := info.Size
	if size < 0 {
		size = a.Size
	}
	if size < 0 || (!info.Ranges && info.Size < 0) {
		return cache.Object{}, fmt.Errorf("%s: %w", remote.RedactURL(u), ErrUnknownSize)
	}
	if !info.Ranges {
		return cache.Object{}, fmt.Errorf("%s: %w", remote.RedactURL(u), ErrNoRange)
	}
	return cache.Object{
		Key:    objectKey(u, info),
		Size:   size,
		Src:    assetSource{c: c, it: it, a: a, etag: info.ETag, version: info.Version()},
		Shared: c.o.ShareBlocks,
	}, nil
}

// assetSource reads one version of an asset for the block cache
// (cache.ProgressSource), renewing an expired presigned URL on the way.
type assetSource struct {
	c       *Catalog
	it      *Item
	a       *remote.Asset
	etag    string
	version string // of the stat read (remote.Info.Version)
}

func (s assetSource) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return s.read(ctx, p, off, nil)
}

// ReadAtProgress implements cache.ProgressSource: the client reports the
// bytes received as they arrive (remote.WithProgress).
func (s assetSource) ReadAtProgress(ctx context.Context, p []byte, off int64, progress func(int)) (int, error) {
	return s.read(ctx, p, off, progress)
}

// ReadAtCopy implements cache.CopySource: the client puts the bytes into p
// with put (remote.WithCopy) and reports them as they arrive.
func (s assetSource) ReadAtCopy(ctx context.Context, p []byte, off int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	return s.read(remote.WithCopy(ctx, put), p, off, progress)
}

// read fills p from off. After a URL renewal it goes on from the bytes
// already read: they are final (readers may be using them) and are neither
// fetched nor written again.
func (s assetSource) read(ctx context.Context, p []byte, off int64, progress func(int)) (int, error) {
	done := 0
	err := s.c.withURL(ctx, s.it, s.a, func(u string) error {
		base := done
		rctx := ctx
		if progress != nil {
			rctx = remote.WithProgress(ctx, func(n int) { progress(base + n) })
		}
		n, err := s.c.rd.ReadAt(rctx, u, p[base:], off+int64(base), s.etag)
		done = base + n
		return err
	})
	if errors.Is(err, remote.ErrChanged) {
		s.c.changed(s.it, s.a, s.version)
	}
	return done, err
}
