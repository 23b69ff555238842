package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	gate := make(chan struct{})
	c, it, a := streamCatalog(t, streamOnly{data, gate}, 0, nil)
	ctx := context.Background()
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

// TestStreamEvictedOutsideLock: a stream the catalog stops keeping is
// released (its spool closed) after Catalog.mu is unlocked, not from the
// LRU's callback under it: a release that waits does not hold up the
// catalog.
func TestStreamEvictedOutsideLock(t *testing.T) {
	gate := make(chan struct{})
	close(gate)
	it := remote.Item{ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z")}
	for i := range keptStreams + 1 {
		it.Assets = append(it.Assets, remote.Asset{Key: fmt.Sprintf("a%02d", i), Href: fmt.Sprintf("https://store.example/%d.zip", i), Size: -1})
	}
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, items: []remote.Item{it}}
	c := New(src, streamOnly{[]byte("zip"), gate}, Options{})
	ctx := context.Background()
	col, _ := c.FindCollection(ctx, "C")
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	var streams []*Stream
	for i := range keptStreams {
		st, err := c.OpenStream(items[0], &items[0].Assets[i])
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		streams = append(streams, st)
	}
	first := streams[0]
	first.mu.Lock() // the release of the first stream waits for this
	opened := make(chan error, 1)
	go func() {
		st, err := c.OpenStream(items[0], &items[0].Assets[keptStreams]) // drops the first
		if err == nil {
			st.Close()
		}
		opened <- err
	}()
	free := false
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !free; time.Sleep(5 * time.Millisecond) {
		if c.mu.TryLock() {
			_, kept := c.streams.Peek(assetID(items[0], &items[0].Assets[0]))
			c.mu.Unlock()
			free = !kept // dropped, and the catalog's lock is free while its release waits
		}
	}
	first.mu.Unlock()
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	if !free {
		t.Fatal("Catalog.mu held while a dropped stream is released")
	}
	if _, err := first.f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the dropped stream's spool is still open: %v", err)
	}
}
