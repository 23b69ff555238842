package fs

import (
	"context"
	"log/slog"
	"syscall"
	"time"
)

// op starts one FUSE operation on path; the function it returns, deferred,
// ends it with the errno *errno then holds: it times the operation for
// Options.Observe (metrics) and logs a failure at debug level (the cause is
// logged where the error becomes an errno, by fail). Every operation of
// the tree goes through it:
//
//	func (n *node) Getattr(...) (errno syscall.Errno) {
//		defer n.fs.op("getattr", n.path, &errno)()
func (f *FS) op(name, path string, errno *syscall.Errno) func() {
	start := time.Now()
	return func() {
		took := time.Since(start)
		if f.o.Observe != nil {
			f.o.Observe(name, took, *errno)
		}
		if *errno != 0 && f.log.Enabled(context.Background(), slog.LevelDebug) {
			f.log.Debug("fuse op", "op", name, "path", path, "errno", errno.Error(), "took", took)
		}
	}
}
