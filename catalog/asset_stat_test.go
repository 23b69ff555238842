package catalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// objectServer is an asset host in memory: one object per URL's last
// segment, a version (ETag) a test changes, and down: every request then
// hangs until its context ends (a server whose retries take the whole
// budget).
type objectServer struct {
	mu      sync.Mutex
	objects map[string][]byte
	etag    string
	down    chan struct{} // non-nil: requests wait on it (or their context)
	heads   int
}

func (s *objectServer) get(ctx context.Context, url string) ([]byte, string, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down != nil {
		select {
		case <-down:
		case <-ctx.Done():
		}
		return nil, "", errors.New("connection reset by peer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[url[strings.LastIndex(url, "/")+1:]], s.etag, nil
}

func (s *objectServer) set(name string, b []byte, etag string) {
	s.mu.Lock()
	s.objects[name], s.etag = b, etag
	s.mu.Unlock()
}

func (s *objectServer) ReadHead(ctx context.Context, url string, n int) ([]byte, remote.Info, error) {
	s.mu.Lock()
	s.heads++
	s.mu.Unlock()
	b, etag, err := s.get(ctx, url)
	if err != nil {
		return nil, remote.Info{}, err
	}
	return b[:min(n, len(b))], remote.Info{Size: int64(len(b)), ETag: etag, Ranges: true}, nil
}

func (s *objectServer) ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error) {
	b, cur, err := s.get(ctx, url)
	if err != nil {
		return 0, err
	}
	if etag != "" && etag != cur {
		return 0, remote.ErrChanged
	}
	n := copy(p, b[min(off, int64(len(b))):])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// assetCatalog is a catalog of one item C/i on 2024-02-29 with an asset
// "data" (file:size size) served by srv, listed, on a clock the test moves.
func assetCatalog(t *testing.T, srv *objectServer, size int64, log *slog.Logger) (*Catalog, *Item, *time.Time) {
	t.Helper()
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, items: []remote.Item{{ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z"),
		Assets: []remote.Asset{{Key: "data", Href: "https://store.example/i/data", Size: size}}}}}
	clock := at("2024-06-01T00:00:00Z")
	var mu sync.Mutex
	c := New(src, srv, Options{Name: "t", TTL: time.Minute, Timeout: time.Minute, Logger: log,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	col, err := c.FindCollection(context.Background(), "C")
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Items(context.Background(), col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	return c, items[0], &clock
}

// TestStatStaleWhileServerDown: past the TTL, with the asset host down
// (its requests hang for the whole retry budget), an open's stat is served
// from the last one within StaleStatWait while the reload goes on, and
// the opens after it at once; after a refresh, the stat waits for the
// server again.
func TestStatStaleWhileServerDown(t *testing.T) {
	srv := &objectServer{objects: map[string][]byte{"data": []byte("version one")}, etag: `"v1"`}
	c, it, clock := assetCatalog(t, srv, -1, nil)
	ctx := context.Background()
	a := &it.Assets[0]
	first, err := c.Object(ctx, it, a)
	if err != nil {
		t.Fatal(err)
	}
	down := make(chan struct{})
	defer close(down)
	srv.mu.Lock()
	srv.down = down
	srv.mu.Unlock()
	*clock = clock.Add(2 * time.Minute) // past the TTL

	for i := range 3 {
		start := time.Now()
		obj, err := c.Object(ctx, it, a)
		took := time.Since(start)
		t.Logf("open %d with the server down: %v", i, took)
		if err != nil || obj.Key != first.Key || obj.Size != first.Size {
			t.Fatalf("open %d: %v %v; want the last stat", i, obj.Key, err)
		}
		if took > 5*time.Second {
			t.Fatalf("open %d took %v with the server down; want the last stat within %v", i, took, StaleStatWait)
		}
	}
	if n, err := c.Size(ctx, it, a); err != nil || n != first.Size {
		t.Errorf("size with the server down: %d %v", n, err)
	}

	// After a refresh the stat is the server's: it waits (here until the
	// caller gives up).
	c.Refresh("", 0, 0, 0)
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if obj, err := c.Object(wctx, it, a); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("open after a refresh with the server down: %v %v; want it to wait for the server", obj.Key, err)
	}
}

// openThenChange opens the asset of a catalog over a stub server, then
// replaces it on the server with a new version holding v2.
func openThenChange(t *testing.T, v2 string) (*Catalog, *Item, *remote.Asset, cache.Object) {
	t.Helper()
	srv := &objectServer{objects: map[string][]byte{"data": []byte("version one")}, etag: `"v1"`}
	c, it, _ := assetCatalog(t, srv, -1, nil)
	a := &it.Assets[0]
	old, err := c.Object(context.Background(), it, a)
	if err != nil {
		t.Fatal(err)
	}
	srv.set("data", []byte(v2), `"v2"`)
	return c, it, a, old
}

// TestStatChangedAtRead: a read that finds the asset changed (412) fails
// with ErrChanged, and the next open reads the new version: the stat is
// not kept for the rest of its TTL.
func TestStatChangedAtRead(t *testing.T) {
	c, it, a, old := openThenChange(t, "version two, longer")
	ctx := context.Background()
	p := make([]byte, 4)
	if _, err := old.Src.ReadAt(ctx, p, 0); !errors.Is(err, remote.ErrChanged) {
		t.Fatalf("read of the old version: %v; want ErrChanged", err)
	}
	obj, err := c.Object(ctx, it, a)
	if err != nil || obj.Key == old.Key || obj.Size != int64(len("version two, longer")) {
		t.Fatalf("open after the change: key %q size %d %v; want the new version", obj.Key, obj.Size, err)
	}
	if n, err := c.Size(ctx, it, a); err != nil || n != obj.Size {
		t.Errorf("size after the change: %d %v, want %d", n, err, obj.Size)
	}
	if _, err := obj.Src.ReadAt(ctx, p, 0); err != nil || string(p) != "vers" {
		t.Errorf("read of the new version: %q %v", p, err)
	}
}

// TestRefreshExpiresStats: Refresh of a folder (RefreshItem of an item)
// expires the stats of the assets under it, so the next open sees a changed asset; a refresh of
// another folder leaves them.
func TestRefreshExpiresStats(t *testing.T) {
	for _, tc := range []struct {
		coll             string
		year, month, day int
		seesNewVersion   bool
		item             bool // RefreshItem of the asset's item instead
	}{
		{item: true, seesNewVersion: true},
		{"", 0, 0, 0, true, false},
		{"C", 0, 0, 0, true, false},
		{"C", 2024, 0, 0, true, false},
		{"C", 2024, 2, 0, true, false},
		{"C", 2024, 2, 29, true, false},
		{"C", 2024, 2, 28, false, false},
		{"C", 2023, 0, 0, false, false},
		{"D", 0, 0, 0, false, false},
	} {
		c, it, a, old := openThenChange(t, "version two")
		ctx := context.Background()
		if tc.item {
			c.RefreshItem(it)
		} else {
			c.Refresh(tc.coll, tc.year, tc.month, tc.day)
		}
		obj, err := c.Object(ctx, it, a)
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.Key != old.Key; got != tc.seesNewVersion {
			t.Errorf("Refresh(%q, %d, %d, %d) (item %v): new version seen %v, want %v", tc.coll, tc.year, tc.month, tc.day, tc.item, got, tc.seesNewVersion)
		}
	}
}

// TestSizeMismatch: an item's file:size that differs from the server's
// length is told until the server's is known (a listing makes no
// request); from the open's stat on, the server's is, and one WARN names
// the item, the asset and both sizes.
func TestSizeMismatch(t *testing.T) {
	for _, tc := range []struct {
		name           string
		fileSize, real int
	}{
		{"item says more", 200000, 100000},
		{"item says less", 100000, 200000},
		{"item right", 100000, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			srv := &objectServer{objects: map[string][]byte{"data": bytes.Repeat([]byte("x"), tc.real)}, etag: `"v1"`}
			c, it, _ := assetCatalog(t, srv, int64(tc.fileSize), log)
			ctx := context.Background()
			a := &it.Assets[0]
			if n, err := c.Size(ctx, it, a); err != nil || n != int64(tc.fileSize) || srv.heads != 0 {
				t.Fatalf("size before the open: %d %v, %d requests; want file:size, none", n, err, srv.heads)
			}
			for range 2 {
				obj, err := c.Object(ctx, it, a)
				if err != nil || obj.Size != int64(tc.real) {
					t.Fatalf("open: size %d %v, want %d", obj.Size, err, tc.real)
				}
			}
			if n, err := c.Size(ctx, it, a); err != nil || n != int64(tc.real) || !c.SizeKnown(it, a) {
				t.Errorf("size after the open: %d %v, want the server's %d", n, err, tc.real)
			}
			warns := strings.Count(logs.String(), "level=WARN")
			want := 0
			if tc.fileSize != tc.real {
				want = 1
				line := logs.String()
				for _, s := range []string{"item=i", "asset=data", "file:size=" + strconv.Itoa(tc.fileSize), "server_size=" + strconv.Itoa(tc.real)} {
					if !strings.Contains(line, s) {
						t.Errorf("the WARN lacks %s: %s", s, line)
					}
				}
			}
			if warns != want {
				t.Errorf("%d WARN lines, want %d: %s", warns, want, logs.String())
			}
		})
	}
}
