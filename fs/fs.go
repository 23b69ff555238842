// Package fs serves STAC catalogs as a read-only FUSE file system
// (go-fuse v2).
//
// # Tree
//
// The root holds one folder per catalog, or, when a single catalog is
// mounted, that catalog's collections. Below a collection:
// <YYYY>/<MM>/<DD>/<item>/ with item.json and the asset files (package
// catalog builds and caches the tree; this package only serves it).
//
// # Inodes and listings
//
// Inode numbers are a hash of the path, so they are stable across lookups,
// forgets and remounts. Listings are sorted by name (a day's items: in the
// server's order, paging_dir.go).
//
// # Caching
//
// Entry and attribute timeouts follow the catalog's metadata TTL; failed
// lookups are cached by the kernel for NegativeTimeout (GDAL probes dozens of
// sidecar names per open). Asset files open with FOPEN_DIRECT_IO: the
// kernel hands each read of the application to stacfs as it was made (no
// page cache, no kernel read-ahead cutting it into pages), so the block
// cache plans fetches from what the application asks for: a COG reader's
// tiles whole and nothing more, a copy with read-ahead. Warm reads are
// served from the block cache. Memory maps still work: the mount asks for
// DIRECT_IO_ALLOW_MMAP, and a map goes through the page cache.
//
// # Errors
//
// Errors become errnos in one place (toErrno); the original error is logged
// beside the errno. An interrupted operation returns EINTR; fetches shared
// with other readers go on.
package fs

import (
	"context"
	"hash/fnv"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
)

// Options configure a file system.
type Options struct {
	// Catalogs to serve. With Single, the root holds the first catalog's
	// collections; else one folder per catalog.
	Catalogs []*catalog.Catalog
	Single   bool

	Cache  *cache.Cache
	Logger *slog.Logger

	// Kernel cache timeouts; zero takes the defaults (entries and
	// attributes: 1 minute; failed lookups: 60 s; items and their files,
	// which do not change: 1 hour).
	EntryTimeout    time.Duration
	NegativeTimeout time.Duration
	ItemTimeout     time.Duration

	// Observe, when set, is told of every lookup, listing, getattr, open
	// and read: its duration and errno (for metrics).
	Observe func(op string, took time.Duration, errno syscall.Errno)
	// Served, when set, counts bytes handed to readers.
	Served func(n int)

	// Debug logs every FUSE operation.
	Debug bool
	// AllowOther lets other users see the mount (with default_permissions).
	AllowOther bool
	// AllowRoot lets root (besides the user who mounted) see the mount.
	AllowRoot bool
	// Owner of every file and folder; nil: the user who mounts.
	UID, GID *uint32
	// Permission bits of files and folders; 0: 0444 and 0555.
	FileMode, DirMode uint32

	// Broken are catalogs that could not start: each is shown as an empty
	// folder whose listing fails with Err (EACCES for refused credentials).
	Broken []Broken
	// Pending are catalogs still trying to start: each is a folder whose
	// listing fails with EAGAIN until it starts (then it lists its
	// collections) or gives up (then EACCES, as Broken).
	Pending []*Pending
	// CacheBytes is the block cache's budget (memory and disk), shown by
	// statfs (df) as the size of the file system.
	CacheBytes int64
}

// FS is a mounted (or mountable) stacfs tree.
type FS struct {
	o       Options
	log     *slog.Logger
	mounted time.Time

	lent atomic.Int64 // read replies lent from the cache and not yet written (viewResult)
}

// New returns the file system described by o.
func New(o Options) *FS {
	if o.EntryTimeout <= 0 {
		o.EntryTimeout = time.Minute
	}
	if o.NegativeTimeout <= 0 {
		o.NegativeTimeout = 60 * time.Second
	}
	if o.ItemTimeout <= 0 {
		o.ItemTimeout = time.Hour
	}
	if o.FileMode == 0 {
		o.FileMode = 0o444
	}
	if o.DirMode == 0 {
		o.DirMode = 0o555
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &FS{o: o, log: log, mounted: time.Now()}
}

// Root returns the root node.
func (f *FS) Root() fusefs.InodeEmbedder {
	if f.o.Single && len(f.o.Catalogs) > 0 {
		return &dir{fs: f, path: "/", mtime: f.mounted, l: catalogDir{f, f.o.Catalogs[0], "/"}}
	}
	return &dir{fs: f, path: "/", mtime: f.mounted, l: rootDir{f}}
}

// Mount mounts the file system on dir. The caller waits on the server and
// unmounts it.
func (f *FS) Mount(dir string) (*fuse.Server, error) {
	opts := &fusefs.Options{
		MountOptions: fuse.MountOptions{
			FsName:        "stacfs",
			Name:          "stacfs",
			Options:       []string{"ro"},
			MaxWrite:      1 << 20,
			MaxReadAhead:  1 << 20,
			MaxBackground: 64,
			DirectMount:   true,
			// Replies are written with writev from the cache's
			// memory (see viewResult). go-fuse's splice path only
			// suits replies that are file descriptors: for the
			// others it tries and gives up on every reply.
			DisableSplice: true,
			// Shared read-only maps of direct-I/O files (Linux 6.6+),
			// and reads over 1 MiB sent as parallel requests.
			// READDIRPLUS only where it pays (the kernel's choice,
			// READDIRPLUS_AUTO): the first answer of a listing, and
			// the answers after a reader looked up or stated an entry
			// (`ls -l`, GDAL): a plain `ls` of a 50 000-item day then
			// costs stacfs no lookup per entry (0.07-0.10 s instead of
			// 0.3 s when stacfs answers it).
			ExtraCapabilities: fuse.CAP_DIRECT_IO_ALLOW_MMAP | fuse.CAP_ASYNC_DIO | fuse.CAP_READDIRPLUS_AUTO,
			Debug:             f.o.Debug,
			// The FUSE trace (Debug) goes to the mount's log, in its
			// format and file, at DEBUG.
			Logger:     slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
			AllowOther: f.o.AllowOther,
		},
		// go-fuse's diagnostics (what it cannot return as an error).
		Logger:       slog.NewLogLogger(f.log.Handler(), slog.LevelWarn),
		EntryTimeout: &f.o.EntryTimeout,
		// No AttrTimeout: go-fuse would put it in place of every zero
		// attribute timeout, and the size of a file that is not known
		// yet must be asked again at every stat (zero). lookup and each
		// node's Getattr set theirs.
		NegativeTimeout: &f.o.NegativeTimeout,
		UID:             uint32(os.Getuid()),
		GID:             uint32(os.Getgid()),
		// The root's inode number is 1, as every other node's is the
		// hash of its path (ino).
		RootStableAttr: &fusefs.StableAttr{Ino: ino("/")},
	}
	if f.o.UID != nil {
		opts.UID = *f.o.UID
	}
	if f.o.GID != nil {
		opts.GID = *f.o.GID
	}
	if f.o.AllowOther || f.o.AllowRoot || f.o.UID != nil || f.o.GID != nil {
		// Modes and owners then decide who reads what.
		opts.MountOptions.Options = append(opts.MountOptions.Options, "default_permissions")
	}
	if f.o.AllowRoot && !f.o.AllowOther {
		opts.MountOptions.Options = append(opts.MountOptions.Options, "allow_root")
	}
	srv, err := fusefs.Mount(dir, f.Root(), opts)
	if err != nil {
		return nil, err
	}
	f.raiseReadAhead(dir)
	return srv, nil
}

// ino is a node's inode number: a hash of its path, stable across
// remounts. 1 belongs to the root.
func ino(path string) uint64 {
	if path == "/" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	n := h.Sum64()
	if n <= 1 {
		n += 2
	}
	return n
}

func join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// node is what a folder hands out: a go-fuse node that can describe itself.
type node interface {
	fusefs.InodeEmbedder
	mode() uint32
	fill(ctx context.Context, out *fuse.Attr) syscall.Errno
}

// child is one entry of a folder listing.
type child struct {
	name    string
	node    node
	timeout time.Duration // kernel entry/attr timeout; 0: the mount's default
}

// lister lists one kind of folder: a view over the catalog's cached data
// (see listing), cheap to make.
type lister interface {
	list(ctx context.Context) (listing, error)
}

// dir is every folder of the tree; its lister says what it holds.
type dir struct {
	fusefs.Inode
	fs    *FS
	path  string
	mtime time.Time
	l     lister
	cache dirEntries
}

var _ = (fusefs.NodeLookuper)((*dir)(nil))
var _ = (fusefs.NodeReaddirer)((*dir)(nil))
var _ = (fusefs.NodeOpendirHandler)((*dir)(nil))
var _ = (fusefs.NodeGetattrer)((*dir)(nil))

func (d *dir) mode() uint32 { return syscall.S_IFDIR | d.fs.o.DirMode }

func (d *dir) fill(_ context.Context, out *fuse.Attr) syscall.Errno {
	out.Mode = d.mode()
	out.Nlink = 2
	out.Ino = ino(d.path)
	setTime(out, d.mtime)
	return 0
}

// Getattr implements fusefs.NodeGetattrer.
func (d *dir) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) (errno syscall.Errno) {
	defer d.fs.op("getattr", d.path, &errno)()
	out.SetTimeout(d.fs.o.EntryTimeout)
	return d.fill(ctx, &out.Attr)
}

// Lookup implements fusefs.NodeLookuper.
func (d *dir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (_ *fusefs.Inode, errno syscall.Errno) {
	defer d.fs.op("lookup", d.path, &errno)()
	return d.lookup(ctx, name, out, false)
}

// find returns the child called name: a binary search in the folder's
// listing, which builds that child only.
func (d *dir) find(ctx context.Context, name string) (child, syscall.Errno) {
	if c, ok := d.findLast(ctx, name); ok {
		return c, 0
	}
	if c, ok := d.findLoading(ctx, name); ok {
		return c, 0
	}
	l, err := d.l.list(ctx)
	if err != nil {
		return child{}, d.fs.fail("lookup", join(d.path, name), err)
	}
	i := l.find(name)
	if i < 0 {
		if fl, ok := d.l.(failedLister); ok {
			if err := fl.failed(); err != nil {
				// A stale listing served after a failed reload: name
				// may have come since. Never ENOENT, which the kernel
				// would cache as "nothing there".
				return child{}, d.fs.failList("lookup", join(d.path, name), err)
			}
		}
		if pr, ok := d.l.(prober); ok {
			c, found, err := pr.probe(ctx, name)
			if err != nil {
				return child{}, d.fs.fail("lookup", join(d.path, name), err)
			}
			if found {
				return c, 0
			}
		}
		return child{}, syscall.ENOENT
	}
	return l.child(i), 0
}

// lastLister is a lister that gives its folder's last listing without
// waiting: fresh, or past its TTL while it reloads (ok is false when it
// has none).
type lastLister interface {
	last(ctx context.Context) (l listing, fresh, ok bool)
}

// failedLister is a lister whose listing may be the last one that loaded,
// served because its reload failed: failed then returns that failure
// (else nil), and a name the listing lacks is unknown rather than missing.
type failedLister interface {
	failed() error
}

// staleEntryTimeout is the kernel's entry and attribute timeout of a child
// found in a listing past its TTL: the kernel asks again soon, and then
// gets the reloaded listing's answer.
const staleEntryTimeout = time.Second

// findLast finds name in the folder's last listing, if it holds it, so that
// a lookup of a known name does not wait for the folder's reload after the
// TTL (see catalog/last.go); ok is false otherwise, and the lookup then
// waits for the listing (the name may be new).
func (d *dir) findLast(ctx context.Context, name string) (child, bool) {
	ll, ok := d.l.(lastLister)
	if !ok {
		return child{}, false
	}
	l, fresh, ok := ll.last(ctx)
	if !ok {
		return child{}, false
	}
	i := l.find(name)
	if i < 0 {
		return child{}, false
	}
	c := l.child(i)
	if !fresh {
		c.timeout = staleEntryTimeout
	}
	return c, true
}

// lookup finds a child and fills its attributes. With cheapOnly (a listing
// asking for attributes it can do without) a child whose attributes take a
// request is not looked up: EAGAIN.
func (d *dir) lookup(ctx context.Context, name string, out *fuse.EntryOut, cheapOnly bool) (*fusefs.Inode, syscall.Errno) {
	c, errno := d.find(ctx, name)
	if errno != 0 {
		return nil, errno
	}
	return d.lookupChild(ctx, c, out, cheapOnly)
}

// lookupChild fills the attributes of child c (see lookup).
func (d *dir) lookupChild(ctx context.Context, c child, out *fuse.EntryOut, cheapOnly bool) (*fusefs.Inode, syscall.Errno) {
	name := c.name
	if cn, ok := c.node.(costly); ok && cheapOnly && cn.attrNeedsRequest() {
		return nil, syscall.EAGAIN
	}
	p := join(d.path, name)
	if errno := c.node.fill(ctx, &out.Attr); errno != 0 {
		return nil, errno
	}
	out.SetAttrTimeout(d.fs.o.EntryTimeout)
	if c.timeout > 0 {
		out.SetEntryTimeout(c.timeout)
		out.SetAttrTimeout(c.timeout)
	}
	if v, ok := c.node.(interface{ volatile(context.Context) bool }); ok && v.volatile(ctx) {
		out.SetAttrTimeout(0) // passed on as 0: the mount has no default attribute timeout
	}
	return d.NewInode(ctx, c.node, fusefs.StableAttr{Mode: c.node.mode(), Ino: ino(p)}), 0
}

// costly is a node whose attributes may take a request to tell (an asset
// whose size the item does not give).
type costly interface {
	attrNeedsRequest() bool
}

// OpendirHandle implements fusefs.NodeOpendirHandler. The handle lists the
// folder like Readdir and answers the lookups of READDIRPLUS itself, so
// that listing a folder makes no request: an entry whose attributes would
// take one is listed by name only, and the kernel looks it up when (and
// if) it is stated. GDAL lists the folder of every file it opens.
//
// The kernel keeps the listing in its page cache (FOPEN_CACHE_DIR) while
// the catalog's listing stays the same version: `ls` again within the TTL
// is answered by the kernel alone. When the version changed, the folder
// opens without FOPEN_KEEP_CACHE, which drops the kernel's copy.
func (d *dir) OpendirHandle(ctx context.Context, _ uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	if h, flags, errno := d.pagingHandle(ctx); h != nil || errno != 0 {
		return h, flags, errno // a day folder (paging_dir.go)
	}
	var flags uint32
	if l, err := d.l.list(ctx); err == nil && d.cache.current(l) {
		flags = fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
	}
	return &dirHandle{d: d}, flags, 0
}

// dirHandle is an open folder: its listing, read at the first
// Readdirent, and the position in it; or, for a folder whose listing was
// loading when it opened, that listing and the position in it
// (paging_dir.go).
type dirHandle struct {
	d  *dir
	ds fusefs.DirStream

	live   *catalog.DayListing
	pg     pager
	pos    int
	listed bool            // the readdir operation was counted
	answer context.Context // the READDIR request of the last entry given
}

var _ = (fusefs.FileReaddirenter)((*dirHandle)(nil))
var _ = (fusefs.FileSeekdirer)((*dirHandle)(nil))
var _ = (fusefs.FileReleasedirer)((*dirHandle)(nil))
var _ = (fusefs.FileLookuper)((*dirHandle)(nil))

func (h *dirHandle) stream(ctx context.Context) syscall.Errno {
	if h.ds != nil {
		return 0
	}
	ds, errno := h.d.Readdir(ctx)
	if errno != 0 {
		return errno
	}
	h.ds = ds
	return 0
}

// Readdirent implements fusefs.FileReaddirenter.
func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if h.live != nil {
		return h.liveEntry(ctx)
	}
	if errno := h.stream(ctx); errno != 0 {
		return nil, errno
	}
	if !h.ds.HasNext() {
		return nil, 0
	}
	e, errno := h.ds.Next()
	return &e, errno
}

// Seekdir implements fusefs.FileSeekdirer.
func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if h.live != nil {
		h.pos = int(off) // entry i has offset i+1
		return 0
	}
	if errno := h.stream(ctx); errno != 0 {
		return errno
	}
	if sd, ok := h.ds.(fusefs.FileSeekdirer); ok {
		return sd.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

// Releasedir implements fusefs.FileReleasedirer.
func (h *dirHandle) Releasedir(context.Context, uint32) {
	if h.ds != nil {
		h.ds.Close()
	}
}

// Lookup implements fusefs.FileLookuper: the lookups of READDIRPLUS. An
// error leaves the entry without attributes (go-fuse sends node ID 0, which
// the kernel takes as "no attributes", not as a negative entry).
// They are part of the READDIRPLUS operation, not operations of their own.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	if h.live != nil {
		return h.liveLookup(ctx, name, out)
	}
	return h.d.lookup(ctx, name, out, true)
}

// Readdir implements fusefs.NodeReaddirer.
func (d *dir) Readdir(ctx context.Context) (_ fusefs.DirStream, errno syscall.Errno) {
	defer d.fs.op("readdir", d.path, &errno)()
	return d.readdir(ctx)
}

func setTime(out *fuse.Attr, t time.Time) {
	if t.IsZero() {
		return
	}
	out.SetTimes(&t, &t, &t)
}

// sortChildren sorts a listing by name.
func sortChildren(kids []child) []child {
	sort.Slice(kids, func(i, j int) bool { return kids[i].name < kids[j].name })
	return kids
}
