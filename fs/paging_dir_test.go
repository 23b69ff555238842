package fs

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/catalog"
)

// pagedDay is the folder of a stub day of n items served in pages of
// 1 000, whose page last waits for release (or fails with fail).
func pagedDay(t *testing.T, n, last int, fail error) (d *dir, release func(), src *stubSource) {
	t.Helper()
	d, src = bigDayDir(t, n)
	held := make(chan struct{})
	src.gate = func(page int) error {
		if page != last {
			return nil
		}
		select {
		case <-held:
		case <-time.After(20 * time.Second):
			return errors.New("test: page never released")
		}
		return fail
	}
	once := false
	return d, func() {
		if !once {
			once = true
			close(held)
		}
	}, src
}

// readAll reads an open folder to its end (or errno) as go-fuse does.
func readAll(ctx context.Context, h *dirHandle) ([]string, syscall.Errno) {
	var names []string
	for {
		e, errno := h.Readdirent(ctx)
		if errno != 0 || e == nil {
			return names, errno
		}
		names = append(names, e.Name)
	}
}

// TestDayListsWhilePaging: a day whose last page has not arrived hands
// out the entries of the pages already parsed (the old code waited for
// every page at OPENDIR), lookups of them do not wait (the mount test
// looks them up through READDIRPLUS),
// seekdir goes back, and once the last page is in the listing is whole
// (each item once) and cached: a new open lists from the cache, sorted.
func TestDayListsWhilePaging(t *testing.T) {
	const n = 3500 // pages 0-3; page 3 is held
	d, release, src := pagedDay(t, n, 3, nil)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	type opened struct {
		h     *dirHandle
		flags uint32
		names []string
		errno syscall.Errno
	}
	got := make(chan opened, 1)
	go func() {
		fh, flags, errno := d.OpendirHandle(ctx, 0)
		if errno != 0 {
			got <- opened{errno: errno}
			return
		}
		h := fh.(*dirHandle)
		var names []string
		for range 2500 {
			e, errno := h.Readdirent(ctx)
			if errno != 0 || e == nil {
				got <- opened{h: h, names: names, errno: errno}
				return
			}
			names = append(names, e.Name)
		}
		got <- opened{h: h, flags: flags, names: names}
	}()
	var o opened
	select {
	case o = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the first entries did not come before the last page arrived")
	}
	if o.errno != 0 || len(o.names) != 2500 {
		t.Fatalf("read %d entries before the last page, %v; want 2500", len(o.names), o.errno)
	}
	for i, name := range o.names {
		if want := fmt.Sprintf("item-%05d", i); name != want {
			t.Fatalf("entry %d: %s, want %s", i, name, want)
		}
	}
	if o.flags&fuse.FOPEN_CACHE_DIR != 0 {
		t.Error("a folder still loading opened with FOPEN_CACHE_DIR: the kernel would keep a partial listing")
	}
	if it, done := o.h.live.Find("item-01234"); it == nil || done {
		t.Errorf("READDIRPLUS lookup of an entry shown: %v (done %v)", it, done)
	}
	if c, errno := d.find(ctx, "item-02000"); errno != 0 || c.name != "item-02000" {
		t.Errorf("lookup of an entry shown while paging: %q %v", c.name, errno)
	}
	if errno := o.h.Seekdir(ctx, 10); errno != 0 {
		t.Fatal(errno)
	}
	release()
	rest, errno := readAll(ctx, o.h)
	if errno != 0 || len(rest) != n-10 || rest[0] != "item-00010" || rest[len(rest)-1] != fmt.Sprintf("item-%05d", n-1) {
		t.Fatalf("after seekdir(10) and the last page: %d entries, %v", len(rest), errno)
	}
	o.h.Releasedir(ctx, 0)

	searches := src.count()
	fh, flags, errno := d.OpendirHandle(ctx, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	h := fh.(*dirHandle)
	if h.live != nil || flags&fuse.FOPEN_CACHE_DIR == 0 {
		t.Errorf("the complete listing opened live=%v flags %#x: want the cached listing, kept by the kernel", h.live != nil, flags)
	}
	names, errno := readAll(ctx, h)
	if errno != 0 || len(names) != n {
		t.Fatalf("complete listing: %d entries, %v", len(names), errno)
	}
	if src.count() != searches {
		t.Error("listing the complete day again searched again")
	}
}

// TestDayPageFailsListing: a later page that fails ends the listing with
// EIO after the entries shown (never a short listing that ends well), and
// nothing of it is cached: the next open loads again.
func TestDayPageFailsListing(t *testing.T) {
	d, release, src := pagedDay(t, 2500, 2, fmt.Errorf("page 3: %w", errors.New("HTTP 500")))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fh, _, errno := d.OpendirHandle(ctx, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	h := fh.(*dirHandle)
	release()
	names, errno := readAll(ctx, h)
	if errno != syscall.EIO {
		t.Fatalf("listing with a failed page: %d entries, errno %v; want EIO", len(names), errno)
	}
	if len(names) > 2000 {
		t.Errorf("%d entries before the failure: more than the pages that came", len(names))
	}
	if _, errno := d.Readdir(ctx); errno != syscall.EIO {
		t.Errorf("Readdir after the failure: %v, want EIO (the error, not a part)", errno)
	}
	// A failure is remembered for 2 s at most; then the day loads again.
	src.gate = nil
	searches := src.count()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, errno := d.Readdir(ctx)
		if errno == 0 {
			count := 0
			for ds.HasNext() {
				ds.Next()
				count++
			}
			if count != 2500 {
				t.Errorf("after the failure: %d entries, want 2500", count)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the day still fails after the server recovered: %v", errno)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if src.count() == searches {
		t.Error("the failed listing was cached")
	}
	_ = catalog.ErrTooManyItems
}
