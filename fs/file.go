package fs

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// writeFlags are the open flags that ask for writing.
const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_TRUNC | syscall.O_APPEND | syscall.O_CREAT

// assetFile is an asset of an item, read through the block cache.
type assetFile struct {
	fusefs.Inode
	fs    *FS
	cat   *catalog.Catalog
	item  *catalog.Item
	asset *remote.Asset
	path  string
	mtime time.Time
	store *remote.Asset // the Zarr store whose key this is; nil for other assets

	shown   atomic.Int64           // the size last reported to the kernel
	version atomic.Pointer[string] // the cache key (URL and version) of the last open
}

var _ = (fusefs.NodeGetattrer)((*assetFile)(nil))
var _ = (fusefs.NodeOpener)((*assetFile)(nil))
var _ = (fusefs.NodeSetattrer)((*assetFile)(nil))

func (a *assetFile) mode() uint32 { return syscall.S_IFREG | a.fs.o.FileMode }

// fill fills the attributes a lookup answers with: a stream whose size is
// not known yet shows 0, with an attribute timeout of 0 (volatile), so
// that a stat goes on to Getattr, which learns the size. A lookup does
// not: opening the file (cat, cp) must work whatever its length.
func (a *assetFile) fill(ctx context.Context, out *fuse.Attr) syscall.Errno {
	return a.fillSize(ctx, out, false)
}

// fillSize is fill; with learn, the size of a stream is learnt by reading
// it whole (catalog.StreamSize, within stream_stat_limit).
func (a *assetFile) fillSize(ctx context.Context, out *fuse.Attr, learn bool) syscall.Errno {
	size, err := a.cat.Size(ctx, a.item, a.asset)
	if err == nil && size < 0 && learn {
		size, err = a.cat.StreamSize(ctx, a.item, a.asset)
	}
	if err != nil {
		if errno := a.statFailed(ctx, err); errno != 0 {
			return errno
		}
		size = failedKeySize // a Zarr key shown although its stat failed: its open fails (zarrdir.go)
	}
	if size < 0 {
		size = 0 // unknown until the file is read whole (stream_stat_limit = 0)
	}
	a.shown.Store(size)
	out.Mode = a.mode()
	out.Nlink = 1
	out.Ino = ino(a.path)
	out.Size = uint64(size)
	out.Blocks = (out.Size + 511) / 512
	// The I/O size copies use: cp reads 4 MiB at a time, which the kernel
	// sends as four 1 MiB requests at once (direct I/O, ASYNC_DIO), served
	// in parallel. C stdio (GDAL) takes the smaller of this and its 8 KiB
	// BUFSIZ, so its reads of a tile end within 8 KiB of the tile (see
	// cache.Reader).
	out.Blksize = 4 << 20
	setTime(out, a.mtime)
	return 0
}

// attrNeedsRequest implements costly: telling the size may take a request.
func (a *assetFile) attrNeedsRequest() bool { return !a.cat.SizeKnown(a.item, a.asset) }

// volatile reports whether the size shown is a placeholder (unknown until
// the file is read whole): the kernel must then not cache attributes, so
// that it sees the real size as soon as it is known.
func (a *assetFile) volatile(ctx context.Context) bool {
	size, err := a.cat.Size(ctx, a.item, a.asset)
	return err != nil || size < 0
}

// Getattr implements fusefs.NodeGetattrer: stat, fstat, and lseek to the
// end ask it. A stream's size is learnt here (see fill).
func (a *assetFile) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) (errno syscall.Errno) {
	defer a.fs.op("getattr", a.path, &errno)()
	errno = a.fillSize(ctx, &out.Attr, true)
	if errno == 0 && !a.volatile(ctx) {
		out.SetTimeout(a.fs.o.EntryTimeout)
	} // else 0: asked again at every stat until the size is known
	return errno
}

// Setattr implements fusefs.NodeSetattrer: the file system is read-only.
func (a *assetFile) Setattr(context.Context, fusefs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) (errno syscall.Errno) {
	defer a.fs.op("setattr", a.path, &errno)()
	return syscall.EROFS
}

// Open implements fusefs.NodeOpener. The version seen now is the version
// this handle reads, block by block, through the cache.
func (a *assetFile) Open(ctx context.Context, flags uint32) (_ fusefs.FileHandle, _ uint32, errno syscall.Errno) {
	defer a.fs.op("open", a.path, &errno)()
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	obj, err := a.cat.Object(ctx, a.item, a.asset)
	if catalog.StreamOnly(err) {
		// No length, or no Range: read it whole as it arrives. Direct I/O,
		// because the kernel must not trust the size it has (0).
		st, err := a.cat.OpenStream(a.item, a.asset)
		if err != nil {
			return nil, 0, a.failed("open", err)
		}
		if st.Done() && st.Size() == a.shown.Load() {
			// Spooled whole earlier, and the kernel knows the size.
			return &streamHandle{file: a, st: st}, fuse.FOPEN_KEEP_CACHE, 0
		}
		return &streamHandle{file: a, st: st}, fuse.FOPEN_DIRECT_IO, 0
	}
	if err != nil {
		return nil, 0, a.failed("open", err)
	}
	prev := a.version.Swap(&obj.Key)
	if prev != nil && *prev != obj.Key || obj.Size != a.shown.Load() {
		// The asset changed since it was last opened, or the server's
		// size is not the one the kernel was told (file:size wrong):
		// drop the pages a memory map of the old version left in the
		// page cache, and the attributes, so that the next stat asks
		// (catalog.Size gives the server's size now).
		a.shown.Store(obj.Size)
		a.dropKernelCache()
	}
	// Direct I/O (see the package doc): reads arrive as the application
	// made them, and the block cache plans from them.
	return &assetHandle{file: a, r: a.fs.o.Cache.NewReader(obj)}, fuse.FOPEN_DIRECT_IO, 0
}

// notifyWait is how long an open waits for the kernel to drop a file's
// cached attributes and pages (dropKernelCache).
const notifyWait = 100 * time.Millisecond

// dropKernelCache drops the kernel's cached attributes and pages of the
// file, waiting for that up to notifyWait, so that the fstat a program
// makes right after its open (tar does) sees the new size. The
// notification is sent from another goroutine: an operation must not
// wait on one without a bound.
func (a *assetFile) dropKernelCache() {
	done := make(chan struct{})
	go func() {
		a.NotifyContent(0, 0)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(notifyWait):
	}
}

// streamHandle is an open asset of unknown length, read as one stream.
type streamHandle struct {
	file *assetFile
	st   *catalog.Stream
}

var _ = (fusefs.FileReader)((*streamHandle)(nil))
var _ = (fusefs.FileReleaser)((*streamHandle)(nil))

// Read implements fusefs.FileReader.
func (h *streamHandle) Read(ctx context.Context, dest []byte, off int64) (_ fuse.ReadResult, errno syscall.Errno) {
	defer h.file.fs.op("read", h.file.path, &errno)()
	n, err := h.st.ReadAt(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.file.failed("read", err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Release implements fusefs.FileReleaser.
func (h *streamHandle) Release(context.Context) (errno syscall.Errno) {
	defer h.file.fs.op("release", h.file.path, &errno)()
	if h.st.Done() {
		// The size is known now: let the kernel forget the 0 it holds.
		// Not from inside the operation: notifications must not wait on it.
		go h.file.NotifyContent(0, 0)
	}
	h.st.Close()
	return 0
}

// assetHandle is an open asset file: its reader holds the version seen at
// open and the read-ahead state of this handle.
type assetHandle struct {
	file *assetFile
	r    *cache.Reader
}

var _ = (fusefs.FileReader)((*assetHandle)(nil))
var _ = (fusefs.FileReleaser)((*assetHandle)(nil))

// Release implements fusefs.FileReleaser.
func (h *assetHandle) Release(context.Context) (errno syscall.Errno) {
	defer h.file.fs.op("release", h.file.path, &errno)()
	h.r.Close()
	return 0
}

// Read implements fusefs.FileReader.
func (h *assetHandle) Read(ctx context.Context, dest []byte, off int64) (_ fuse.ReadResult, errno syscall.Errno) {
	defer h.file.fs.op("read", h.file.path, &errno)()
	// The bytes are handed to the kernel straight from the cache when
	// they lie in one of its buffers (no copy into dest).
	b, release, err := h.r.ReadView(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		release()
		return nil, h.file.failed("read", err)
	}
	if h.file.fs.o.Served != nil {
		h.file.fs.o.Served(len(b))
	}
	if len(b) == 0 {
		// go-fuse writes an empty reply without calling its Done: a
		// view lent for it would never come back.
		release()
		return fuse.ReadResultData(nil), 0
	}
	h.file.fs.lent.Add(1)
	return viewResult{b, release, &h.file.fs.lent}, 0
}

// viewResult is a read reply of bytes the cache lends until go-fuse has
// written them to the kernel (Done). It has Slices, so go-fuse writes it
// with writev straight from the cache and calls Done only after that
// write: for a result with Bytes only, go-fuse (with DisableSplice) takes
// the bytes and calls Done before it writes them, and the cache could give
// the memory back, and reuse it, in between.
type viewResult struct {
	b       []byte
	release func()
	lent    *atomic.Int64 // the FS's count of replies not yet written
}

func (r viewResult) Bytes([]byte) ([]byte, fuse.Status) { return r.b, fuse.OK }
func (r viewResult) Slices() ([][]byte, fuse.Status)    { return [][]byte{r.b}, fuse.OK }
func (r viewResult) Size() int                          { return len(r.b) }
func (r viewResult) Done() {
	r.release()
	r.lent.Add(-1)
}

// go-fuse's (unexported) interface of results written with writev.
var _ interface {
	Slices() ([][]byte, fuse.Status)
} = viewResult{}

// jsonFile is a JSON document (item.json, collection.json), in memory or
// in a listing's spool: the server's bytes and a newline, as text files
// end (cat, tail and shells then show it whole).
type jsonFile struct {
	fusefs.Inode
	fs    *FS
	doc   *catalog.Doc
	path  string
	mtime time.Time
}

var _ = (fusefs.NodeGetattrer)((*jsonFile)(nil))
var _ = (fusefs.NodeOpener)((*jsonFile)(nil))
var _ = (fusefs.NodeReader)((*jsonFile)(nil))
var _ = (fusefs.NodeSetattrer)((*jsonFile)(nil))

func (j *jsonFile) mode() uint32 { return syscall.S_IFREG | j.fs.o.FileMode }

func (j *jsonFile) fill(_ context.Context, out *fuse.Attr) syscall.Errno {
	out.Mode = j.mode()
	out.Nlink = 1
	out.Ino = ino(j.path)
	out.Size = uint64(j.doc.Size()) + 1 // the newline
	out.Blocks = (out.Size + 511) / 512
	setTime(out, j.mtime)
	return 0
}

// Getattr implements fusefs.NodeGetattrer.
func (j *jsonFile) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) (errno syscall.Errno) {
	defer j.fs.op("getattr", j.path, &errno)()
	out.SetTimeout(j.fs.o.EntryTimeout)
	return j.fill(ctx, &out.Attr)
}

// Setattr implements fusefs.NodeSetattrer: the file system is read-only.
func (j *jsonFile) Setattr(context.Context, fusefs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) (errno syscall.Errno) {
	defer j.fs.op("setattr", j.path, &errno)()
	return syscall.EROFS
}

// Open implements fusefs.NodeOpener.
func (j *jsonFile) Open(_ context.Context, flags uint32) (_ fusefs.FileHandle, _ uint32, errno syscall.Errno) {
	defer j.fs.op("open", j.path, &errno)()
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Read implements fusefs.NodeReader.
func (j *jsonFile) Read(_ context.Context, _ fusefs.FileHandle, dest []byte, off int64) (_ fuse.ReadResult, errno syscall.Errno) {
	defer j.fs.op("read", j.path, &errno)()
	size := j.doc.Size()
	if off > size {
		return fuse.ReadResultData(nil), 0
	}
	n := 0
	if off < size {
		var err error
		if n, err = j.doc.ReadAt(dest[:min(len(dest), int(size-off))], off); err != nil && !errors.Is(err, io.EOF) {
			return nil, j.fs.fail("read", j.path, err)
		}
	}
	if off+int64(n) == size && n < len(dest) {
		dest[n] = '\n'
		n++
	}
	return fuse.ReadResultData(dest[:n]), 0
}
