package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
	"github.com/stacfs/stacfs/zipindex"
)

// shown returns the children of an item folder that it shows, and the
// listing's version: a zip asset's folder when the archive can be ranged
// (its server answers Range and its size is known) or, before its stat,
// when the item gives its size; else the zip stays a plain file. Listing
// makes no request: a zip folder that is not yet known to be rangeable is
// probed when it is opened (zipDir.list), and one that is not listed is
// probed when its name is looked up (itemDir.probe).
func (d itemDir) shown(n *catalog.Node) ([]*catalog.Node, any) {
	kids := n.Children
	var out []*catalog.Node
	for i, c := range kids {
		if c.Archive == nil {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if ok, _ := d.cat.RangeableKnown(d.item, c.Archive); ok {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if out == nil {
			out = append(make([]*catalog.Node, 0, len(kids)), kids[:i]...)
		}
	}
	if out == nil {
		return kids, n
	}
	return out, sliceVer(out) // a new version: which zips can be ranged may change
}

// probe finds the folder of a zip asset called name that the listing does
// not show because nothing tells yet whether it can be ranged: its stat
// (one request, cached) tells. It implements prober.
func (d itemDir) probe(ctx context.Context, name string) (child, bool, error) {
	n := d.node
	if n == nil {
		n = d.item.Tree()
	}
	for _, c := range n.Children {
		if c.Archive == nil || c.Name != name {
			continue
		}
		if _, known := d.cat.RangeableKnown(d.item, c.Archive); known {
			return child{}, false, nil // known not rangeable: not shown
		}
		ok, err := d.cat.Rangeable(ctx, d.item, c.Archive)
		if err != nil || !ok {
			d.fs.log.Debug("zip asset shown as a file only", "path", join(d.path, c.Name), "rangeable", ok, "err", err)
			return child{}, false, err
		}
		return d.child(c), true, nil
	}
	return child{}, false, nil
}

// prober is a lister whose listing leaves out children that a lookup of
// their name may still find (after a request).
type prober interface {
	probe(ctx context.Context, name string) (child, bool, error)
}

// entryMode is the mode of a listed folder or (read-only) file.
func entryMode(dir bool) uint32 {
	if dir {
		return syscall.S_IFDIR | 0o555
	}
	return syscall.S_IFREG | 0o444
}

// zipFolder is the folder of a zip asset's members.
func (d itemDir) zipFolder(a *remote.Asset, p string) node {
	return &dir{fs: d.fs, path: p, mtime: d.item.Time, l: zipDir{fs: d.fs, cat: d.cat, item: d.item, asset: a, path: p}}
}

// zipDir lists a folder of a zip archive's members: the archive's root, or
// the folder at names inside it.
type zipDir struct {
	fs    *FS
	cat   *catalog.Catalog
	item  *catalog.Item
	asset *remote.Asset
	names []string
	path  string
}

func (d zipDir) list(ctx context.Context) (listing, error) {
	// The item folder lists a zip's folder before knowing it can be
	// ranged (see shown): opening it tells (one request, cached).
	if ok, err := d.cat.Rangeable(ctx, d.item, d.asset); err != nil || !ok {
		d.fs.log.Debug("zip asset shown as a file only", "path", d.path, "rangeable", ok, "err", err)
		if err == nil {
			err = fmt.Errorf("zip folder %s: the archive's server does not answer Range requests: %w", d.path, remote.ErrNotFound)
		}
		return listing{}, err
	}
	za, _, err := d.cat.Archive(ctx, d.item, d.asset)
	if err != nil {
		return listing{}, err
	}
	n := za.Tree.Find(d.names)
	if n == nil || !n.Dir {
		return listing{}, fmt.Errorf("zip folder %s: %w", d.path, remote.ErrNotFound)
	}
	kids := n.Children // sorted by name
	return listing{
		ver:  n,
		n:    len(kids),
		name: func(i int) string { return kids[i].Name },
		mode: func(i int) uint32 { return entryMode(kids[i].Dir) },
		child: func(i int) child {
			c := kids[i]
			p := join(d.path, c.Name)
			mtime := d.item.Time
			if c.Index >= 0 {
				mtime = za.Index.Members[c.Index].Modified
			}
			if c.Dir {
				sub := d
				sub.names = append(append([]string(nil), d.names...), c.Name)
				sub.path = p
				return child{c.Name, &dir{fs: d.fs, path: p, mtime: mtime, l: sub}, 0}
			}
			names := append(append([]string(nil), d.names...), c.Name)
			return child{c.Name, &zipMember{d: d, names: names, path: p}, 0}
		},
	}, nil
}

// zipMember is a file inside a zip archive: a stored member reads as a
// range of the archive through the block cache; a deflated one through a
// decompressor with checkpoints (zipindex.Deflated). It finds itself in
// the archive's current member list at every stat and open (cached by the
// catalog), so a replaced archive shows its new members.
type zipMember struct {
	fusefs.Inode
	d     zipDir   // the archive (d.names is the folder's)
	names []string // the member's path in the archive's tree
	path  string

	version atomic.Pointer[string] // the archive's cache key at the last open
}

var _ = (fusefs.NodeGetattrer)((*zipMember)(nil))
var _ = (fusefs.NodeOpener)((*zipMember)(nil))
var _ = (fusefs.NodeSetattrer)((*zipMember)(nil))

// member returns the member in the archive's current list and the archive
// as a cache object.
func (z *zipMember) member(ctx context.Context) (*zipindex.Member, cache.Object, error) {
	za, obj, err := z.d.cat.Archive(ctx, z.d.item, z.d.asset)
	if err != nil {
		return nil, cache.Object{}, err
	}
	n := za.Tree.Find(z.names)
	if n == nil || n.Dir || n.Index < 0 {
		return nil, cache.Object{}, fmt.Errorf("zip member %s: %w", z.path, remote.ErrNotFound)
	}
	return za.Index.Members[n.Index], obj, nil
}

func (z *zipMember) mode() uint32 { return syscall.S_IFREG | 0o444 }

func (z *zipMember) fill(ctx context.Context, out *fuse.Attr) syscall.Errno {
	m, _, err := z.member(ctx)
	if err != nil {
		return z.d.fs.fail("stat", z.path, err)
	}
	out.Mode = z.mode()
	out.Nlink = 1
	out.Ino = ino(z.path)
	out.Size = uint64(m.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4 << 20
	setTime(out, m.Modified)
	return 0
}

// Getattr implements fusefs.NodeGetattrer.
func (z *zipMember) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.SetTimeout(z.d.fs.o.EntryTimeout)
	return z.fill(ctx, &out.Attr)
}

// Setattr implements fusefs.NodeSetattrer: the file system is read-only.
func (z *zipMember) Setattr(context.Context, fusefs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Open implements fusefs.NodeOpener.
func (z *zipMember) Open(ctx context.Context, flags uint32) (_ fusefs.FileHandle, _ uint32, errno syscall.Errno) {
	f := z.d.fs
	defer f.op("open", z.path, &errno)()
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	m, obj, err := z.member(ctx)
	if err == nil {
		err = m.Readable()
	}
	if err != nil {
		return nil, 0, f.fail("open", z.path, err)
	}
	if prev := z.version.Swap(&obj.Key); prev != nil && *prev != obj.Key {
		// The archive changed since the member was last opened: drop
		// what the page cache holds of the old one (not from inside
		// the operation: notifications must not wait on it).
		go z.NotifyContent(0, 0)
	}
	if m.Method == 0 { // stored: a range of the archive, read like an asset
		off, err := m.DataOffset(ctx, z.d.cat.ObjectReader(obj))
		if err != nil {
			return nil, 0, f.fail("open", z.path, err)
		}
		section := catalog.Section(obj, m.Name, off, m.Size)
		return &assetHandle{file: &assetFile{fs: f, path: z.path}, r: f.o.Cache.NewReader(section)}, fuse.FOPEN_DIRECT_IO, 0
	}
	// Deflated: compressed bytes through a cache reader of the archive
	// (read-ahead for the sequential stream); the output goes to the
	// page cache, which keeps it for later reads.
	r := f.o.Cache.NewReader(obj)
	d, err := m.OpenDeflated(ctx, r)
	if err != nil {
		r.Close()
		return nil, 0, f.fail("open", z.path, err)
	}
	return &deflatedHandle{z: z, r: r, d: d}, fuse.FOPEN_KEEP_CACHE, 0
}

// deflatedHandle is an open deflated member.
type deflatedHandle struct {
	z *zipMember
	r *cache.Reader
	d *zipindex.Deflated
}

var _ = (fusefs.FileReader)((*deflatedHandle)(nil))
var _ = (fusefs.FileReleaser)((*deflatedHandle)(nil))

// Read implements fusefs.FileReader.
func (h *deflatedHandle) Read(ctx context.Context, dest []byte, off int64) (_ fuse.ReadResult, errno syscall.Errno) {
	defer h.z.d.fs.op("read", h.z.path, &errno)()
	n, err := h.d.ReadAt(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.z.d.fs.fail("read", h.z.path, err)
	}
	if h.z.d.fs.o.Served != nil {
		h.z.d.fs.o.Served(n)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Release implements fusefs.FileReleaser.
func (h *deflatedHandle) Release(context.Context) syscall.Errno {
	h.r.Close()
	return 0
}
