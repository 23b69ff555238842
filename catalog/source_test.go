package catalog

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// expiringReader serves an object at URLs of any generation; a read with a
// generation-1 URL delivers half of what it is asked and then finds the URL
// expired (as a body cut short and its resume refused with 403 would).
type expiringReader struct {
	data []byte

	mu    sync.Mutex
	calls []string // url@off+len
}

func (e *expiringReader) ReadHead(_ context.Context, url string, n int) ([]byte, remote.Info, error) {
	return e.data[:min(n, len(e.data))], remote.Info{Size: int64(len(e.data)), ETag: `"v1"`, Ranges: true}, nil
}

func (e *expiringReader) ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error) {
	e.mu.Lock()
	e.calls = append(e.calls, fmt.Sprintf("%s@%d+%d", url[strings.LastIndex(url, "/")+1:], off, len(p)))
	e.mu.Unlock()
	if strings.HasSuffix(url, "gen1") {
		half := len(p) / 2
		copy(p[:half], e.data[off:])
		return half, fmt.Errorf("resume: %w", remote.ErrDenied)
	}
	return copy(p, e.data[off:]), nil
}

// TestAssetSourceRenewKeepsBytes: when a read finds its presigned URL
// expired after part of the bytes arrived, the source renews the URL and
// goes on from where it was: the bytes already delivered (and reported as
// final) are neither fetched nor written again.
func TestAssetSourceRenewKeepsBytes(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	gen := 1
	var mu sync.Mutex
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}}
	itemAt := func() remote.Item {
		mu.Lock()
		defer mu.Unlock()
		return remote.Item{ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z"),
			Assets: []remote.Asset{{Key: "data", Href: fmt.Sprintf("https://store.example/obj?gen%d", gen), Size: -1}}}
	}
	src.items = []remote.Item{itemAt()}
	rd := &expiringReader{data: data}
	c := New(src, rd, Options{})
	col, err := c.FindCollection(context.Background(), "C")
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Items(context.Background(), col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	// The store re-signs: the API now hands out generation 2.
	mu.Lock()
	gen = 2
	mu.Unlock()
	src.items = []remote.Item{itemAt()}

	obj, err := c.Object(context.Background(), items[0], &items[0].Assets[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obj.Src.(cache.ProgressSource); !ok {
		t.Fatal("the asset source does not report progress")
	}
	p := make([]byte, 32<<10)
	n, err := obj.Src.ReadAt(context.Background(), p, 1000)
	if err != nil || n != len(p) || !bytes.Equal(p, data[1000:1000+len(p)]) {
		t.Fatalf("read: %d bytes, err %v, right bytes %v", n, err, bytes.Equal(p[:n], data[1000:1000+n]))
	}
	want := []string{"obj?gen1@1000+32768", "obj?gen2@17384+16384"}
	if strings.Join(rd.calls, " ") != strings.Join(want, " ") {
		t.Errorf("reads %v, want %v (on from the bytes already read)", rd.calls, want)
	}
}
