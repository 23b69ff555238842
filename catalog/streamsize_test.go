package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// countedStream serves an object as a stream without length or Range,
// counting the GETs and the bytes sent; each GET waits for gate (nil: at
// once) and ends when its context is cancelled.
type countedStream struct {
	data  []byte
	gate  chan struct{}
	gets  atomic.Int32
	sent  atomic.Int64
	ended chan struct{} // closed when a GET's body is closed early (cancelled)
	once  sync.Once
}

func (s *countedStream) ReadHead(context.Context, string, int) ([]byte, remote.Info, error) {
	return nil, remote.Info{Size: -1}, nil
}

func (s *countedStream) ReadAt(context.Context, string, []byte, int64, string) (int, error) {
	return 0, errors.New("no Range")
}

func (s *countedStream) Open(ctx context.Context, _ string) (io.ReadCloser, remote.Info, error) {
	s.gets.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			s.once.Do(func() { close(s.ended) })
			return nil, remote.Info{}, ctx.Err()
		}
	}
	return &countedBody{s: s, ctx: ctx, r: bytes.NewReader(s.data)}, remote.Info{Size: -1}, nil
}

// countedBody sends 1 KiB per Read, so that a cap stops it part way.
type countedBody struct {
	s   *countedStream
	ctx context.Context
	r   *bytes.Reader
}

func (b *countedBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p[:min(len(p), 1024)])
	b.s.sent.Add(int64(n))
	return n, err
}

func (b *countedBody) Close() error { return nil }

// streamCatalog is a catalog of one item whose asset "zip" only streams;
// it logs to log (nil: nowhere).
func streamCatalog(t *testing.T, rd Reader, limit int64, log io.Writer) (*Catalog, *Item, *remote.Asset) {
	t.Helper()
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, items: []remote.Item{{
		ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z"),
		Assets: []remote.Asset{{Key: "zip", Href: "https://store.example/product.zip", Size: -1}},
	}}}
	if log == nil {
		log = io.Discard
	}
	c := New(src, rd, Options{StreamStatLimit: limit, StreamDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(log, nil))})
	ctx := context.Background()
	col, err := c.FindCollection(ctx, "C")
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	return c, items[0], &items[0].Assets[0]
}

// TestStreamSize: the size of a stream is learnt by downloading it once,
// shared by concurrent stats and by the reader that follows (tar: stat,
// then read), which fetches nothing more.
func TestStreamSize(t *testing.T) {
	t.Parallel()
	rd := &countedStream{data: bytes.Repeat([]byte("0123456789"), 5000), gate: make(chan struct{}), ended: make(chan struct{})}
	c, it, a := streamCatalog(t, rd, 1<<20, nil)
	ctx := context.Background()
	if n, err := c.Size(ctx, it, a); err != nil || n != -1 {
		t.Fatalf("Size before: %d %v, want -1 (unknown)", n, err)
	}
	const stats = 8
	sizes := make(chan int64, stats)
	for range stats {
		go func() {
			n, err := c.StreamSize(ctx, it, a)
			if err != nil {
				t.Error(err)
			}
			sizes <- n
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the stats meet on one download
	close(rd.gate)
	for range stats {
		if n := <-sizes; n != 50000 {
			t.Errorf("StreamSize = %d, want 50000", n)
		}
	}
	if n, err := c.Size(ctx, it, a); err != nil || n != 50000 {
		t.Errorf("Size after: %d %v, want 50000", n, err)
	}
	st, err := c.OpenStream(it, a)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := make([]byte, 50001)
	if n, err := st.ReadAt(ctx, got, 0); n != 50000 || !errors.Is(err, io.EOF) || !bytes.Equal(got[:n], rd.data) {
		t.Errorf("read after the stats: %d bytes, %v; want the 50000 bytes and EOF", n, err)
	}
	if g := rd.gets.Load(); g != 1 {
		t.Errorf("%d GETs for %d stats and a read, want 1", g, stats)
	}
}

// TestStreamSizeLimit: a stream longer than the limit fails the stat with
// ErrTooLarge once little more than the limit was fetched, and again at
// once (no new GET) within the TTL; a reader reads it whole all the same,
// and then the size is known.
func TestStreamSizeLimit(t *testing.T) {
	t.Parallel()
	rd := &countedStream{data: bytes.Repeat([]byte("x"), 100<<10)}
	var log bytes.Buffer // written by the download's goroutine before the first stat returns
	c, it, a := streamCatalog(t, rd, 16<<10, &log)
	ctx := context.Background()
	for i := range 2 {
		if n, err := c.StreamSize(ctx, it, a); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("stat %d: %d %v, want ErrTooLarge", i, n, err)
		}
	}
	if n := strings.Count(log.String(), "level=ERROR"); n != 1 || !strings.Contains(log.String(), "stream_stat_limit") {
		t.Errorf("log:\n%s\nwant one ERROR naming stream_stat_limit", log.String())
	}
	if g, s := rd.gets.Load(), rd.sent.Load(); g != 1 || s > 16<<10+1024 {
		t.Errorf("%d GETs, %d bytes for two stats, want 1 GET stopped at the limit (16 KiB)", g, s)
	}
	st, err := c.OpenStream(it, a)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := c.StreamSize(ctx, it, a); err != nil || n != 100<<10 {
		t.Errorf("stat while a reader streams it: %d %v, want 102400 (waited for)", n, err)
	}
}

// TestStreamSizeOff: with no limit a stat downloads nothing and the size
// stays unknown (-1).
func TestStreamSizeOff(t *testing.T) {
	t.Parallel()
	rd := &countedStream{data: []byte("zip")}
	c, it, a := streamCatalog(t, rd, 0, nil)
	if n, err := c.StreamSize(context.Background(), it, a); err != nil || n != -1 || rd.gets.Load() != 0 {
		t.Errorf("StreamSize with no limit: %d %v after %d GETs, want -1, nil, 0", n, err, rd.gets.Load())
	}
}

// TestStreamSizeInterrupted: a stat interrupted before the download ends
// stops it when nobody else waits for it (nobody asked for its bytes); the
// next stat starts again.
func TestStreamSizeInterrupted(t *testing.T) {
	t.Parallel()
	rd := &countedStream{data: []byte("zip"), gate: make(chan struct{}), ended: make(chan struct{})}
	c, it, a := streamCatalog(t, rd, 1<<20, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.StreamSize(ctx, it, a)
		done <- err
	}()
	for rd.gets.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted stat: %v, want context.Canceled", err)
	}
	select {
	case <-rd.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the download of an abandoned stat goes on")
	}
	close(rd.gate)
	if n, err := c.StreamSize(context.Background(), it, a); err != nil || n != 3 {
		t.Errorf("stat after: %d %v, want 3", n, err)
	}
	if g := rd.gets.Load(); g != 2 {
		t.Errorf("%d GETs, want 2 (the abandoned one, a new one)", g)
	}
}

// TestStreamSpoolsBounded: the spools of kept streams nobody holds stay
// within StreamKeepBytes (du over many folders downloads each stream):
// the oldest are dropped, their spools closed, their sizes still known;
// a held one is not dropped.
func TestStreamSpoolsBounded(t *testing.T) {
	t.Parallel()
	it := remote.Item{ID: "i", Collection: "C", Time: at("2024-02-29T12:00:00Z")}
	for i := range 4 {
		it.Assets = append(it.Assets, remote.Asset{Key: fmt.Sprintf("a%d", i), Href: fmt.Sprintf("https://store.example/%d.zip", i), Size: -1})
	}
	src := &fakeSource{cols: []remote.Collection{{ID: "C"}}, items: []remote.Item{it}}
	rd := &countedStream{data: bytes.Repeat([]byte("z"), 10<<10)}
	c := New(src, rd, Options{StreamStatLimit: 1 << 20, StreamKeepBytes: 25 << 10, StreamDir: t.TempDir()})
	ctx := context.Background()
	col, _ := c.FindCollection(ctx, "C")
	items, err := c.Items(ctx, col, 2024, 2, 29)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	asset := func(i int) *remote.Asset { return &items[0].Assets[i] }
	held, err := c.OpenStream(items[0], asset(0)) // read by someone all along
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for i := range 4 {
		if n, err := c.StreamSize(ctx, items[0], asset(i)); err != nil || n != 10<<10 {
			t.Fatalf("StreamSize %d: %d %v", i, n, err)
		}
	}
	c.mu.Lock()
	var kept []string
	for _, id := range c.streams.Keys() {
		kept = append(kept, id[len(id)-2:])
	}
	c.mu.Unlock()
	if fmt.Sprint(kept) != "[a0 a3]" && fmt.Sprint(kept) != "[a3 a0]" {
		t.Errorf("kept streams %v, want the held a0 and the newest a3 (30 KiB > 25 KiB drops a1, a2)", kept)
	}
	for i := range 4 {
		if !c.SizeKnown(items[0], asset(i)) {
			t.Errorf("size of a%d forgotten with its spool", i)
		}
	}
}
