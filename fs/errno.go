package fs

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
	"github.com/stacfs/stacfs/zipindex"
)

// toErrno maps an error to the errno a FUSE operation returns. It is the
// only place that does: go-fuse's own fs.ToErrno compares with == and turns
// wrapped errors into ENOSYS.
//
//	nil                          0
//	context.Canceled             EINTR   (the reader was interrupted)
//	remote.ErrNotFound           ENOENT
//	remote.ErrDenied             EACCES
//	remote.ErrChanged            ESTALE  (the object changed while open)
//	catalog.ErrNoURL             EIO
//	catalog.ErrTooManyItems      ENOMEM  (a day over max_items: never a short listing)
//	catalog.ErrNoCollections     ENXIO   (none of a catalog's configured collections exists)
//	catalog.ErrTooLarge          EFBIG   (a stream over stream_stat_limit: never a short size)
//	zipindex.ErrEncrypted        EACCES  (an encrypted zip member)
//	zipindex.ErrMethod           EOPNOTSUPP (a zip member neither stored nor deflated)
//	errBroken                    EACCES  (a catalog that did not start)
//	errPending                   EAGAIN  (a catalog still trying to start)
//	anything else                EIO     (network, server, timeout,
//	                                      ECONNRESET and the like)
func toErrno(err error) syscall.Errno {
	if errno, ok := err.(syscall.Errno); ok { // an errno of our own, unwrapped
		return errno
	}
	// Network errors wrap errnos such as ECONNRESET: they are EIO to a
	// reader, so wrapped errnos are not passed through.
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errBroken): // whatever the cause
		return syscall.EACCES
	case errors.Is(err, errPending): // whatever its last try gave
		return syscall.EAGAIN
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, remote.ErrNotFound):
		return syscall.ENOENT
	case errors.Is(err, remote.ErrDenied):
		return syscall.EACCES
	case errors.Is(err, remote.ErrChanged):
		return syscall.ESTALE
	case errors.Is(err, catalog.ErrNoCollections):
		return syscall.ENXIO
	case errors.Is(err, catalog.ErrTooManyItems):
		return syscall.ENOMEM
	case errors.Is(err, catalog.ErrTooLarge):
		return syscall.EFBIG
	case errors.Is(err, catalog.ErrNoURL):
		return syscall.EIO
	case errors.Is(err, zipindex.ErrEncrypted):
		return syscall.EACCES
	case errors.Is(err, zipindex.ErrMethod):
		return syscall.EOPNOTSUPP
	default:
		return syscall.EIO
	}
}

// fail logs err beside the errno it becomes (interrupts and plain misses
// only at debug level) and returns the errno.
func (f *FS) fail(op, path string, err error) syscall.Errno {
	return f.logFail(op, path, err, toErrno(err))
}

// failList is fail for the listing of a folder that exists (opendir,
// readdir): ENOENT becomes EIO. glibc's readdir takes ENOENT from getdents
// as the end of the folder (one removed while open), so `ls` would show a
// listing that failed with it as an empty folder, and exit 0.
func (f *FS) failList(op, path string, err error) syscall.Errno {
	e := toErrno(err)
	if e == syscall.ENOENT {
		e = syscall.EIO
	}
	return f.logFail(op, path, err, e)
}

func (f *FS) logFail(op, path string, err error, e syscall.Errno) syscall.Errno {
	level := slog.LevelWarn
	if e == syscall.EINTR || e == syscall.ENOENT {
		level = slog.LevelDebug
	}
	f.log.Log(context.Background(), level, "fuse op failed", "op", op, "path", path, "errno", e.Error(), "err", err)
	return e
}
