package catalog

import (
	"context"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
	"github.com/stacfs/stacfs/zarrstore"
	"github.com/stacfs/stacfs/zipindex"
)

// Container assets (zip archives, Zarr stores) show as folders too; see
// docs/semantics.md. This file decides which assets are containers, names
// their folders in the item tree, and caches what their folders list.

// IsZip reports whether an asset is a zip archive: its media type says so
// (application/zip, application/x-zip-compressed), or its href's path ends
// in ".zip".
func IsZip(a *remote.Asset) bool {
	switch mediaType(a.Type) {
	case "application/zip", "application/x-zip-compressed", "application/x-zip":
		return true
	}
	return strings.HasSuffix(strings.ToLower(hrefPathOnly(a.Href)), ".zip")
}

// IsZarr reports whether an asset is a Zarr store: a Zarr media type
// (application/vnd+zarr, application/vnd.zarr, any parameters), or an href
// whose path ends in ".zarr" or ".zarr/".
func IsZarr(a *remote.Asset) bool {
	switch mediaType(a.Type) {
	case "application/vnd+zarr", "application/vnd.zarr", "application/x-zarr":
		return true
	}
	p := strings.TrimSuffix(strings.ToLower(hrefPathOnly(a.Href)), "/")
	return strings.HasSuffix(p, ".zarr")
}

func mediaType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		mt, _, _ = strings.Cut(t, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

func hrefPathOnly(href string) string {
	if u, err := url.Parse(href); err == nil {
		return u.Path
	}
	p, _, _ := strings.Cut(href, "?")
	return p
}

// addContainers turns the Zarr assets of a folder tree into store folders,
// and gives each zip asset a folder beside its file: NAME for NAME.zip, or
// NAME.zip.d when NAME is taken (a zip asset named without .zip gets
// NAME.d).
func addContainers(n *Node) {
	taken := make(map[string]bool, len(n.Children))
	for _, c := range n.Children {
		taken[c.Name] = true
	}
	var added []*Node
	for i, c := range n.Children {
		switch {
		case c.Dir:
			addContainers(c)
		case c.Asset != nil && IsZarr(c.Asset):
			n.Children[i] = &Node{Name: c.Name, Dir: true, Store: c.Asset}
		case c.Asset != nil && IsZip(c.Asset):
			name := c.Name + ".d"
			if base, ok := zipBase(c.Name); ok && !taken[base] {
				name = base
			}
			if taken[name] {
				continue
			}
			taken[name] = true
			added = append(added, &Node{Name: name, Dir: true, Archive: c.Asset})
		}
	}
	if len(added) > 0 {
		n.Children = append(n.Children, added...)
		sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Name < n.Children[j].Name })
	}
}

// zipBase is NAME for a file called NAME.zip (any case), when NAME is a
// usable name ("..zip" gives ".", which is not).
func zipBase(file string) (string, bool) {
	n := len(file) - len(".zip")
	if n <= 0 || !strings.EqualFold(file[n:], ".zip") {
		return "", false
	}
	base := file[:n]
	return base, Sanitize(base) == base
}

// containers caches the member lists of zip assets, by archive version,
// and the listings of Zarr stores.
type containers struct {
	once   sync.Once
	zips   *memo[string, *ZipArchive]
	stores *memo[string, *zarrstore.Store] // by assetID
	denies *memo[string, bool]             // by assetID: StoreDeniesMissing
}

func (c *Catalog) containerMemos() *containers {
	c.ctr.once.Do(func() {
		c.ctr.zips = newMemo[string, *ZipArchive](c.o.TTL, c.o.Timeout, c.o.Now)
		c.ctr.stores = newMemo[string, *zarrstore.Store](c.o.TTL, c.o.Timeout, c.o.Now)
		c.ctr.denies = newMemo[string, bool](c.o.TTL, c.o.Timeout, c.o.Now)
	})
	return &c.ctr
}

// ZipArchive is what a zip asset's folder shows: the archive's members and
// their folder tree (PathNode.Index is an index into Index.Members).
type ZipArchive struct {
	Index *zipindex.Index
	Tree  *PathNode
}

// Rangeable reports whether an asset's server answers Range requests and
// its size is known (one request, cached: see Stat). Only such zip assets
// get a folder.
func (c *Catalog) Rangeable(ctx context.Context, it *Item, a *remote.Asset) (bool, error) {
	info, err := c.Stat(ctx, it, a)
	if err != nil {
		return false, err
	}
	return info.Ranges && (info.Size >= 0 || a.Size >= 0), nil
}

// RangeableKnown tells, without a request, whether a zip asset gets a
// folder: known is true when its stat is cached (ok is then Rangeable's
// answer); else ok guesses: yes when the item gives the asset's size
// (file:size: a stored file, not an archive built on the fly, whose size
// nobody knows before it is sent).
func (c *Catalog) RangeableKnown(it *Item, a *remote.Asset) (ok, known bool) {
	if info, fresh := c.stats.peek(assetID(it, a)); fresh {
		return info.Ranges && (info.Size >= 0 || a.Size >= 0), true
	}
	return a.Size >= 0, false
}

// Archive returns a zip asset's member list and the archive as a cache
// object. The list is read from the archive's end (see zipindex) through
// the block cache and cached per archive version.
func (c *Catalog) Archive(ctx context.Context, it *Item, a *remote.Asset) (*ZipArchive, cache.Object, error) {
	obj, err := c.Object(ctx, it, a)
	if err != nil {
		return nil, cache.Object{}, err
	}
	za, err := c.containerMemos().zips.get(ctx, obj.Key, func(ctx context.Context) (*ZipArchive, error) {
		ix, err := zipindex.Read(ctx, c.ObjectReader(obj), obj.Size)
		if err != nil {
			return nil, fmt.Errorf("zip asset %q of %s: %w", a.Key, it.ID, err)
		}
		tree := PathTree(len(ix.Members), func(i int) (string, bool) { return ix.Members[i].Name, ix.Members[i].Dir })
		return &ZipArchive{Index: ix, Tree: tree}, nil
	})
	return za, obj, err
}

// ObjectReader reads an object through the block cache (straight from its
// source when the catalog has no cache).
func (c *Catalog) ObjectReader(obj cache.Object) zipindex.ReaderAt {
	return objectReader{c.o.Cache, obj}
}

type objectReader struct {
	c   *cache.Cache
	obj cache.Object
}

func (r objectReader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if r.c == nil {
		return r.obj.Src.ReadAt(ctx, p, off)
	}
	return r.c.ReadAt(ctx, r.obj, p, off)
}

// Section is a part of an object (a stored zip member) as an object of its
// own: the cache keeps and plans it like an asset (a GeoTIFF member reads
// tile by tile), and fetches it from the archive's source.
func Section(obj cache.Object, name string, off, size int64) cache.Object {
	return cache.Object{
		Key:  obj.Key + "\x00member\x00" + name,
		Size: size,
		Src:  sectionSource{obj.Src, off},
	}
}

// sectionSource reads a source from an offset on; it passes progress and
// copy reads on (cache.ProgressSource, cache.CopySource) when the source
// has them.
type sectionSource struct {
	src cache.Source
	off int64
}

func (s sectionSource) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return s.src.ReadAt(ctx, p, s.off+off)
}

func (s sectionSource) ReadAtProgress(ctx context.Context, p []byte, off int64, progress func(int)) (int, error) {
	if ps, ok := s.src.(cache.ProgressSource); ok {
		return ps.ReadAtProgress(ctx, p, s.off+off, progress)
	}
	n, err := s.src.ReadAt(ctx, p, s.off+off)
	progress(n)
	return n, err
}

func (s sectionSource) ReadAtCopy(ctx context.Context, p []byte, off int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	if cs, ok := s.src.(cache.CopySource); ok {
		return cs.ReadAtCopy(ctx, p, s.off+off, progress, put)
	}
	tmp := make([]byte, len(p))
	n, err := s.src.ReadAt(ctx, tmp, s.off+off)
	if n > 0 {
		if perr := put(p[:n], tmp[:n]); perr != nil {
			return 0, perr
		}
		progress(n)
	}
	return n, err
}
