package fs

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// TestLookupErrnoWhileAPIDown: a lookup in a folder whose listing failed
// for any reason but "not found" answers that failure (EIO for a 503),
// never ENOENT, which the kernel would cache as "nothing there" for the
// negative entry timeout. That holds when the folder was listed before
// and its reload after the TTL failed: the last listing is served (its
// names still look up) but tells nothing of the names it lacks. A name a
// listing that loaded lacks is ENOENT.
func TestLookupErrnoWhileAPIDown(t *testing.T) {
	e503 := &remote.StatusError{Code: 503}
	cases := []struct {
		name   string
		listed bool  // the folder listed before the API went down, and its TTL passed
		fail   error // every search fails with it (nil: the API works)
		day    bool  // the folder is the day 2024-02-29 (else the year 2024)
		lookup string
		errno  syscall.Errno
	}{
		{"API up, month with items", false, nil, false, "02", 0},
		{"API up, month without items", false, nil, false, "06", syscall.ENOENT},
		{"API up, not a month", false, nil, false, "13", syscall.ENOENT},
		{"API up, item missing", false, nil, true, "b", syscall.ENOENT},
		{"API 503, month", false, e503, false, "06", syscall.EIO},
		{"API 503, month with items", false, e503, false, "02", syscall.EIO},
		{"API denied", false, &remote.StatusError{Code: 403}, false, "06", syscall.EACCES},
		{"API 503, item", false, e503, true, "b", syscall.EIO},
		{"stale listing, reload 503, month it lacks", true, e503, false, "06", syscall.EIO},
		{"stale listing, reload 503, month it holds", true, e503, false, "02", 0},
		{"stale listing, reload 503, item it lacks", true, e503, true, "b", syscall.EIO},
		{"stale listing, reload 503, item it holds", true, e503, true, "a", 0},
		{"stale listing, reload fine, month it lacks", true, nil, false, "06", syscall.ENOENT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &stubSource{items: []remote.Item{stubItem("a", nil)}}
			var mu sync.Mutex
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			cat := catalog.New(src, &stubReader{}, catalog.Options{Name: "t", TTL: time.Minute, Timeout: 5 * time.Second, Now: clock})
			col := catalog.Collection{Name: "C", Collection: remote.Collection{ID: "C"}}
			f := New(Options{})
			l := dateDir{fs: f, cat: cat, col: col, year: 2024, path: "/C/2024"}
			if c.day {
				l.month, l.day, l.path = 2, 29, "/C/2024/02/29"
			}
			d := &dir{fs: f, path: l.path, l: l}
			ctx := context.Background()
			if c.listed {
				if _, err := l.list(ctx); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				now = now.Add(2 * time.Minute)
				mu.Unlock()
			}
			if c.fail != nil {
				src.mu.Lock()
				src.probeGate = func() error { return c.fail }
				src.gate = func(int) error { return c.fail }
				src.mu.Unlock()
			}
			if c.listed {
				// The reload after the TTL fails (or not), and the listing
				// served is the last one.
				if _, err := l.list(ctx); err != nil {
					t.Fatalf("list after the TTL: %v", err)
				}
			}
			_, errno := d.find(ctx, c.lookup)
			if errno != c.errno {
				t.Fatalf("lookup %s: errno %v, want %v", c.lookup, errno, c.errno)
			}
		})
	}
}
