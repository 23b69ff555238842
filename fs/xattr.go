package fs

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/stacfs/stacfs/remote"
)

// Extended attributes: the STAC metadata of asset files and item folders,
// under user.stac.*, taken from the item already loaded (listing or reading
// them makes no request).

var _ = (fusefs.NodeGetxattrer)((*assetFile)(nil))
var _ = (fusefs.NodeListxattrer)((*assetFile)(nil))
var _ = (fusefs.NodeSetxattrer)((*assetFile)(nil))
var _ = (fusefs.NodeRemovexattrer)((*assetFile)(nil))

var _ = (fusefs.NodeGetxattrer)((*dir)(nil))
var _ = (fusefs.NodeListxattrer)((*dir)(nil))
var _ = (fusefs.NodeSetxattrer)((*dir)(nil))
var _ = (fusefs.NodeRemovexattrer)((*dir)(nil))

// xattrser is a lister whose folder has extended attributes.
type xattrser interface {
	xattrs() map[string]string
}

// xattrs returns the attributes of an item folder (none for its
// sub-folders).
func (d itemDir) xattrs() map[string]string {
	if d.node != nil {
		return nil
	}
	it := d.item
	m := map[string]string{}
	put(m, "user.stac.id", it.ID)
	put(m, "user.stac.collection", it.Collection)
	if !it.Time.IsZero() {
		put(m, "user.stac.datetime", it.Time.UTC().Format(time.RFC3339Nano))
	}
	if len(it.Bbox) > 0 {
		nums := make([]string, len(it.Bbox))
		for i, v := range it.Bbox {
			nums[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		put(m, "user.stac.bbox", strings.Join(nums, ","))
	}
	return m
}

// assetXattrs returns the attributes of an asset file.
func assetXattrs(a *remote.Asset) map[string]string {
	m := map[string]string{}
	if a.Href != "" {
		put(m, "user.stac.href", remote.UnsignedURL(a.Href))
	}
	put(m, "user.stac.key", a.Key)
	put(m, "user.stac.type", a.Type)
	put(m, "user.stac.roles", strings.Join(a.Roles, ","))
	put(m, "user.stac.title", a.Title)
	return m
}

// put sets m[name] = value unless value is empty.
func put(m map[string]string, name, value string) {
	if value != "" {
		m[name] = value
	}
}

// getxattr answers getxattr(2) from attrs: with an empty dest, the size;
// ERANGE when dest is too small; ENODATA for an unknown name.
func getxattr(attrs map[string]string, name string, dest []byte) (uint32, syscall.Errno) {
	v, ok := attrs[name]
	if !ok {
		return 0, errNoAttr
	}
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// listxattr answers listxattr(2) from attrs: the names, sorted, each ended
// by NUL; the size and ERANGE rules of getxattr.
func listxattr(attrs map[string]string, dest []byte) (uint32, syscall.Errno) {
	names := make([]string, 0, len(attrs))
	n := 0
	for k := range attrs {
		names = append(names, k)
		n += len(k) + 1
	}
	if len(dest) == 0 {
		return uint32(n), 0
	}
	if len(dest) < n {
		return uint32(n), syscall.ERANGE
	}
	sort.Strings(names)
	off := 0
	for _, k := range names {
		off += copy(dest[off:], k)
		dest[off] = 0
		off++
	}
	return uint32(off), 0
}

// Getxattr implements fusefs.NodeGetxattrer.
func (a *assetFile) Getxattr(_ context.Context, name string, dest []byte) (_ uint32, errno syscall.Errno) {
	defer a.fs.op("getxattr", a.path, &errno)()
	return getxattr(assetXattrs(a.asset), name, dest)
}

// Listxattr implements fusefs.NodeListxattrer.
func (a *assetFile) Listxattr(_ context.Context, dest []byte) (_ uint32, errno syscall.Errno) {
	defer a.fs.op("listxattr", a.path, &errno)()
	return listxattr(assetXattrs(a.asset), dest)
}

// Setxattr implements fusefs.NodeSetxattrer: the file system is read-only.
func (a *assetFile) Setxattr(context.Context, string, []byte, uint32) (errno syscall.Errno) {
	defer a.fs.op("setxattr", a.path, &errno)()
	return syscall.EROFS
}

// Removexattr implements fusefs.NodeRemovexattrer: the file system is
// read-only.
func (a *assetFile) Removexattr(context.Context, string) (errno syscall.Errno) {
	defer a.fs.op("removexattr", a.path, &errno)()
	return syscall.EROFS
}

// xattrs returns the folder's attributes (nil when it has none).
func (d *dir) xattrs() map[string]string {
	if x, ok := d.l.(xattrser); ok {
		return x.xattrs()
	}
	return nil
}

// Getxattr implements fusefs.NodeGetxattrer.
func (d *dir) Getxattr(_ context.Context, name string, dest []byte) (_ uint32, errno syscall.Errno) {
	defer d.fs.op("getxattr", d.path, &errno)()
	if name == RefreshXattr {
		v := refreshDir(d)
		if len(dest) == 0 { // a size query
			return uint32(len(v)), 0
		}
		if len(dest) < len(v) {
			return 0, syscall.ERANGE
		}
		return uint32(copy(dest, v)), 0
	}
	return getxattr(d.xattrs(), name, dest)
}

// Listxattr implements fusefs.NodeListxattrer.
func (d *dir) Listxattr(_ context.Context, dest []byte) (_ uint32, errno syscall.Errno) {
	defer d.fs.op("listxattr", d.path, &errno)()
	return listxattr(d.xattrs(), dest)
}

// Setxattr implements fusefs.NodeSetxattrer: the file system is read-only.
func (d *dir) Setxattr(context.Context, string, []byte, uint32) (errno syscall.Errno) {
	defer d.fs.op("setxattr", d.path, &errno)()
	return syscall.EROFS
}

// Removexattr implements fusefs.NodeRemovexattrer: the file system is
// read-only.
func (d *dir) Removexattr(context.Context, string) (errno syscall.Errno) {
	defer d.fs.op("removexattr", d.path, &errno)()
	return syscall.EROFS
}
