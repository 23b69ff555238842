package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

func TestToErrno(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	cases := []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{syscall.EROFS, syscall.EROFS},
		{fmt.Errorf("read: %w", context.Canceled), syscall.EINTR},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 404}), syscall.ENOENT},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 410}), syscall.ENOENT},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 401}), syscall.EACCES},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 403}), syscall.EACCES},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 412}), syscall.ESTALE},
		{fmt.Errorf("x: %w", remote.ErrChanged), syscall.ESTALE},
		{fmt.Errorf("x: %w", &remote.StatusError{Code: 503}), syscall.EIO},
		{fmt.Errorf("gave up: %w", reset), syscall.EIO},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), syscall.EIO},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), syscall.EIO},
		{fmt.Errorf("x: %w", catalog.ErrNoURL), syscall.EIO},
		{fmt.Errorf("stream x: %w (1024 bytes)", catalog.ErrTooLarge), syscall.EFBIG},
		{fmt.Errorf("catalog x: %w (a, b)", catalog.ErrNoCollections), syscall.ENXIO},
		{errors.New("anything"), syscall.EIO},
		{Broken{Name: "a", Err: &remote.StatusError{Code: 404}}.listErr(), syscall.EACCES},
		{Broken{Name: "a", Err: errors.New("connection refused")}.listErr(), syscall.EACCES},
		{pendingErr(nil), syscall.EAGAIN},
		{pendingErr(errors.New("gave up")), syscall.EACCES},
	}
	for _, c := range cases {
		if got := toErrno(c.err); got != c.want {
			t.Errorf("toErrno(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// pendingErr is the listing error of a Pending catalog whose last try was
// refused, that gave up with failed (nil: still trying).
func pendingErr(failed error) error {
	p := NewPending("a", time.Now().Add(time.Minute), &remote.StatusError{Code: 503})
	if failed != nil {
		p.Failed(failed)
	}
	_, err := p.Ready()
	return err
}
