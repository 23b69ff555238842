package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// readN reads an open folder as go-fuse does, in answers of at most 64
// entries, each with the context of its own request, until it has n names
// (n < 0: all), an answer is empty (the end) or an errno.
func readN(base context.Context, h *dirHandle, n int) ([]string, syscall.Errno) {
	var names []string
	for n < 0 || len(names) < n {
		ctx, cancel := context.WithCancel(base)
		got := 0
		for ; got < 64 && (n < 0 || len(names) < n); got++ {
			e, errno := h.Readdirent(ctx)
			if errno != 0 {
				cancel()
				return names, errno
			}
			if e == nil {
				break
			}
			names = append(names, e.Name)
		}
		cancel()
		if got == 0 {
			break
		}
	}
	return names, 0
}

func readAll(ctx context.Context, h *dirHandle) ([]string, syscall.Errno) { return readN(ctx, h, -1) }

// TestDayListsWhilePaging: a day whose last page has not arrived hands
// out the entries of the pages already parsed (the old code waited for
// every page at OPENDIR), lookups of them do not wait (the mount test
// looks them up through READDIRPLUS),
// seekdir goes back, and once the last page is in the listing is whole
// (each item once) and cached: a new open lists it from the cache, in the
// same order, and the kernel may keep it.
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
		names, errno := readN(ctx, h, 2500)
		got <- opened{h: h, flags: flags, names: names, errno: errno}
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
		t.Error("a day opened while loading let the kernel keep its entries (FOPEN_CACHE_DIR)")
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
	if h.live != o.h.live || flags&fuse.FOPEN_CACHE_DIR == 0 {
		t.Errorf("the complete listing opened flags %#x (same listing: %v): want the listing the kernel keeps", flags, h.live == o.h.live)
	}
	names, errno := readAll(ctx, h)
	if errno != 0 || len(names) != n {
		t.Fatalf("complete listing: %d entries, %v", len(names), errno)
	}
	for i, name := range names { // the order of the first open
		if want := fmt.Sprintf("item-%05d", i); name != want {
			t.Fatalf("complete listing: entry %d is %s, want %s", i, name, want)
		}
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

// TestMountedDayListsUnderSignals: a day read by a real client while its
// pages load, the reader's threads hit by signals all along (the Go
// runtime's SIGURG, a terminal's SIGWINCH): each interrupts the READDIR in
// flight. Every item is listed once. (Answering such an interrupt with
// EINTR after the first entry of an answer made go-fuse v2.12 drop one
// entry of every later answer.)
func TestMountedDayListsUnderSignals(t *testing.T) {
	requireFUSE(t)
	const n = 5000
	src := &stubSource{}
	for i := range n {
		src.items = append(src.items, stubItem(fmt.Sprintf("item-%05d", i), map[string]int64{"data.tif": 100}))
	}
	src.gate = func(int) error { time.Sleep(10 * time.Millisecond); return nil }
	cat := catalog.New(src, &stubReader{}, catalog.Options{Name: "t", PageLimit: 50})
	f := New(Options{Catalogs: []*catalog.Catalog{cat}, Single: true})
	dir := t.TempDir()
	srv, err := f.Mount(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Unmount()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
				syscall.Kill(os.Getpid(), syscall.SIGURG)
			}
		}
	}()
	ents, err := os.ReadDir(filepath.Join(dir, "C/2024/02/29"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range ents {
		seen[e.Name()]++
	}
	var wrong []string
	for i := range n {
		if name := fmt.Sprintf("item-%05d", i); seen[name] != 1 {
			wrong = append(wrong, fmt.Sprintf("%s listed %d times", name, seen[name]))
		}
	}
	if len(wrong) > 0 || len(ents) != n {
		t.Errorf("%d entries, want %d: %q", len(ents), n, wrong[:min(10, len(wrong))])
	}
}
