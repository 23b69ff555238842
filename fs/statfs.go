package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var _ = (fusefs.NodeStatfser)((*dir)(nil))

// maxNameLen is the longest file name stacfs hands out (catalog names
// sanitise longer ones).
const maxNameLen = 255

// Statfs implements fusefs.NodeStatfser: df and stat -f see the block
// cache: its budget (memory and disk) as the size, the bytes cached as
// used, the rest as free. Nothing can be written: no inodes are free.
func (d *dir) Statfs(_ context.Context, out *fuse.StatfsOut) (errno syscall.Errno) {
	defer d.fs.op("statfs", d.path, &errno)()
	bs := uint64(4096)
	var used uint64
	if c := d.fs.o.Cache; c != nil {
		bs = uint64(c.BlockSize())
		st := c.Stats()
		used = uint64(st.Bytes + st.DiskBytes)
	}
	total := uint64(max(d.fs.o.CacheBytes, 0))
	total = max(total, used)
	out.Bsize = uint32(bs)
	out.Frsize = uint32(bs)
	out.Blocks = total / bs
	out.Bfree = (total - used) / bs
	out.Bavail = out.Bfree
	out.NameLen = maxNameLen
	return 0
}
