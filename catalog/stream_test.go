package catalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// streamOnly serves an object without a length and without Range: as one
// stream (ESA's on-the-fly product zip), once gate is closed.
type streamOnly struct {
	data []byte
	gate chan struct{}
}

func (s streamOnly) ReadHead(context.Context, string, int) ([]byte, remote.Info, error) {
	return nil, remote.Info{Size: -1}, nil
}

func (s streamOnly) ReadAt(context.Context, string, []byte, int64, string) (int, error) {
	return 0, errors.New("no Range")
}

func (s streamOnly) Open(ctx context.Context, _ string) (io.ReadCloser, remote.Info, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, remote.Info{}, ctx.Err()
	}
	return io.NopCloser(bytes.NewReader(s.data)), remote.Info{Size: -1}, nil
}

// TestStreamSizeKnownAtEnd: a reader that has read a stream to its end
// finds the size known at once; no reader sees the end before the size is
// recorded. The catalog's lock is held while the download runs and ends, so
// recording the size has to wait: the reader must not get the end meanwhile.
func TestStreamSizeKnownAtEnd(t *testing.T) {
	data := bytes.Repeat([]byte("stream "), 1000)
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, items: []remote.Item{{
		ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z"),
		Assets: []remote.Asset{{Key: "zip", Href: "https://store.example/product.zip", Size: -1}},
	}}}
	gate := make(chan struct{})
	c := New(src, streamOnly{data, gate}, Options{})
	ctx := context.Background()
	col, err := c.FindCollection(ctx, "C")
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	it, a := items[0], &items[0].Assets[0]
	if c.SizeKnown(it, a) {
		t.Fatal("size known before the stream was read")
	}

	st, err := c.OpenStream(it, a)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c.mu.Lock()
	close(gate) // the download runs and ends while the lock is held
	end := make(chan int, 1)
	go func() {
		p := make([]byte, len(data)+1)
		n, err := st.ReadAt(ctx, p, 0)
		if !errors.Is(err, io.EOF) {
			n = -1
		}
		end <- n
	}()
	select {
	case n := <-end:
		_, recorded := c.streamed[assetID(it, a)]
		c.mu.Unlock()
		t.Fatalf("a reader got the end (%d bytes) before the size was recorded (recorded: %v)", n, recorded)
	case <-time.After(200 * time.Millisecond):
	}
	c.mu.Unlock()
	if n := <-end; n != len(data) {
		t.Fatalf("read %d bytes to the end, want %d", n, len(data))
	}
	if size, err := c.Size(ctx, it, a); err != nil || size != int64(len(data)) {
		t.Fatalf("size after the end: %d %v, want %d", size, err, len(data))
	}
}
