package fs

import (
	"context"
	"errors"
	"io"
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
	asset *remote.Asset
	path  string
	mtime time.Time
}

var _ = (fusefs.NodeGetattrer)((*assetFile)(nil))
var _ = (fusefs.NodeOpener)((*assetFile)(nil))
var _ = (fusefs.NodeSetattrer)((*assetFile)(nil))

func (a *assetFile) mode() uint32 { return syscall.S_IFREG | 0o444 }

func (a *assetFile) fill(ctx context.Context, out *fuse.Attr) syscall.Errno {
	size, err := a.cat.Size(ctx, a.asset)
	if err != nil {
		return a.fs.fail("stat", a.path, err)
	}
	if size < 0 {
		size = 0
	}
	out.Mode = a.mode()
	out.Nlink = 1
	out.Ino = ino(a.path)
	out.Size = uint64(size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 1 << 20
	setTime(out, a.mtime)
	return 0
}

// Getattr implements fusefs.NodeGetattrer.
func (a *assetFile) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return a.fill(ctx, &out.Attr)
}

// Setattr implements fusefs.NodeSetattrer: the file system is read-only.
func (a *assetFile) Setattr(context.Context, fusefs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Open implements fusefs.NodeOpener. The version seen now is the version
// this handle reads, block by block, through the cache.
func (a *assetFile) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	obj, err := a.cat.Object(ctx, a.asset)
	if err != nil {
		return nil, 0, a.fs.fail("open", a.path, err)
	}
	return &assetHandle{file: a, obj: obj}, fuse.FOPEN_KEEP_CACHE, 0
}

// assetHandle is an open asset file.
type assetHandle struct {
	file *assetFile
	obj  cache.Object
}

var _ = (fusefs.FileReader)((*assetHandle)(nil))

// Read implements fusefs.FileReader.
func (h *assetHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.file.fs.o.Cache.ReadAt(ctx, h.obj, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.file.fs.fail("read", h.file.path, err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// jsonFile is a document held in memory (item.json).
type jsonFile struct {
	fusefs.Inode
	data  []byte
	path  string
	mtime time.Time
}

var _ = (fusefs.NodeGetattrer)((*jsonFile)(nil))
var _ = (fusefs.NodeOpener)((*jsonFile)(nil))
var _ = (fusefs.NodeReader)((*jsonFile)(nil))
var _ = (fusefs.NodeSetattrer)((*jsonFile)(nil))

func (j *jsonFile) mode() uint32 { return syscall.S_IFREG | 0o444 }

func (j *jsonFile) fill(_ context.Context, out *fuse.Attr) syscall.Errno {
	out.Mode = j.mode()
	out.Nlink = 1
	out.Ino = ino(j.path)
	out.Size = uint64(len(j.data))
	out.Blocks = (out.Size + 511) / 512
	setTime(out, j.mtime)
	return 0
}

// Getattr implements fusefs.NodeGetattrer.
func (j *jsonFile) Getattr(ctx context.Context, _ fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return j.fill(ctx, &out.Attr)
}

// Setattr implements fusefs.NodeSetattrer: the file system is read-only.
func (j *jsonFile) Setattr(context.Context, fusefs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Open implements fusefs.NodeOpener.
func (j *jsonFile) Open(_ context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Read implements fusefs.NodeReader.
func (j *jsonFile) Read(_ context.Context, _ fusefs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(j.data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(dest[:copy(dest, j.data[off:])]), 0
}
