package cache

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// ramp returns the n bytes of the ramp object with seed from offset off.
func ramp(seed int, off, n int64) []byte {
	b := make([]byte, n)
	fillRamp(b, seed, off)
	return b
}

// rampPattern holds i % 251 at i, so that fillRamp copies instead of
// computing byte by byte (tests stream tens of MiB under -race).
var rampPattern = func() []byte {
	b := make([]byte, 251*512)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

func fillRamp(b []byte, seed int, off int64) {
	for len(b) > 0 {
		n := copy(b, rampPattern[(int64(seed)+off)%251:])
		b = b[n:]
		off += int64(n)
	}
}

// span is the byte range [Off, End) one Source.ReadAt call asked for.
type span struct{ Off, End int64 }

// rampSource is a fake Source serving the ramp bytes of an object of size
// Size. It records every call.
type rampSource struct {
	seed int
	size int64

	gate     chan struct{}             // when non-nil, calls wait for it to close (or their ctx)
	gateFrom int64                     // only calls at or past this offset wait for gate
	delay    time.Duration             // every call takes at least this long
	fail     func(call int) error      // when non-nil and returning non-nil, the call fails
	short    func(call int, p int) int // when non-nil, the count of bytes to return (nil error)

	mu        sync.Mutex
	calls     []span // in call order
	active    int    // calls running now
	maxActive int    // most calls running at once
}

func (s *rampSource) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	s.mu.Lock()
	s.calls = append(s.calls, span{off, off + int64(len(p))})
	call := len(s.calls)
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.gate != nil && off >= s.gateFrom {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.fail != nil {
		if err := s.fail(call); err != nil {
			return 0, err
		}
	}
	if off >= s.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.size-off)
	if s.short != nil {
		n = min(n, int64(s.short(call, len(p))))
	}
	fillRamp(p[:n], s.seed, off)
	if n < int64(len(p)) && off+n == s.size {
		return int(n), io.EOF
	}
	return int(n), nil
}

// Calls returns the calls made so far, sorted by offset (runs of one read
// are fetched concurrently, so their order is not fixed).
func (s *rampSource) Calls() []span {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := slices.Clone(s.calls)
	slices.SortFunc(c, func(a, b span) int { return cmp.Compare(a.Off, b.Off) })
	return c
}

func (s *rampSource) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// CallsInOrder returns the calls made so far in the order they were made.
func (s *rampSource) CallsInOrder() []span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// MaxActive returns the largest number of calls that ran at once.
func (s *rampSource) MaxActive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive
}

func newCache(t testing.TB, o Options) *Cache {
	t.Helper()
	// The read-ahead tests were written for a window that starts at the
	// second sequential read with 1 MiB, in 4 MiB chunks.
	if o.ReadAheadStart == 0 {
		o.ReadAheadStart = 1
	}
	if o.ReadAheadFirst == 0 {
		o.ReadAheadFirst = 1 << 20
	}
	if o.ReadAheadChunk == 0 {
		o.ReadAheadChunk = 4 << 20
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	checkAtEnd(t, c)
	return c
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkNoLeak fails the test when goroutines started during it are still
// running a few seconds after it ends.
func checkNoLeak(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		waitFor(t, fmt.Sprintf("goroutines to drop to %d", base), func() bool {
			return runtime.NumGoroutine() <= base
		})
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr bool
		wantBS  int
	}{
		{name: "defaults", o: Options{}, wantBS: DefaultBlockSize},
		{name: "custom", o: Options{Memory: 1000, BlockSize: 100, FetchTimeout: time.Second}, wantBS: 100},
		{name: "memory below block", o: Options{Memory: 99, BlockSize: 100}, wantErr: true},
		{name: "negative block", o: Options{BlockSize: -1}, wantErr: true},
		{name: "negative memory", o: Options{Memory: -1}, wantErr: true},
		{name: "negative timeout", o: Options{FetchTimeout: -time.Second}, wantErr: true},
		{name: "negative read-ahead", o: Options{MaxReadAhead: -1}, wantErr: true},
		{name: "negative read-ahead chunk", o: Options{ReadAheadChunk: -1}, wantErr: true},
		{name: "negative read-ahead parallelism", o: Options{ReadAheadParallel: -1}, wantErr: true},
		{name: "disk budget below a block file", o: Options{BlockSize: 100, DiskDir: "x", DiskBytes: 100}, wantErr: true},
		{name: "negative disk budget", o: Options{DiskDir: "x", DiskBytes: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.o)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) error = %v, want error %v", tt.o, err, tt.wantErr)
			}
			if err == nil && c.BlockSize() != tt.wantBS {
				t.Errorf("BlockSize() = %d, want %d", c.BlockSize(), tt.wantBS)
			}
		})
	}
}

func TestReadAtRandomRanges(t *testing.T) {
	checkNoLeak(t)
	const bs = 64
	sizes := []int64{1, 63, 64, 65, 1000, 4096, 5000}
	for _, size := range sizes {
		t.Run(fmt.Sprint("size=", size), func(t *testing.T) {
			// A small budget so that evictions and refetches happen too.
			c := newCache(t, Options{Memory: 5 * bs, BlockSize: bs})
			src := &rampSource{seed: int(size), size: size}
			obj := Object{Key: fmt.Sprint("obj", size), Size: size, Src: src}
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			for range 500 {
				off := rng.Int64N(size + 10)
				p := make([]byte, rng.IntN(3*bs+5))
				n, err := c.ReadAt(t.Context(), obj, p, off)
				wantN := max(0, min(int64(len(p)), size-off))
				var wantErr error
				if off >= size || wantN < int64(len(p)) {
					wantErr = io.EOF
				}
				if int64(n) != wantN || err != wantErr {
					t.Fatalf("ReadAt(len %d, off %d) = %d, %v; want %d, %v", len(p), off, n, err, wantN, wantErr)
				}
				if !bytes.Equal(p[:n], ramp(src.seed, off, int64(n))) {
					t.Fatalf("ReadAt(len %d, off %d): wrong bytes", len(p), off)
				}
				if b := c.Stats().Bytes; b > 5*bs {
					t.Fatalf("resident %d bytes, budget %d", b, 5*bs)
				}
			}
		})
	}
}

func TestReadAtEOF(t *testing.T) {
	const bs = 100
	tests := []struct {
		name      string
		size      int64
		off       int64
		len       int
		wantN     int
		wantErr   error
		wantCalls []span
	}{
		{name: "short object whole", size: 10, off: 0, len: 100, wantN: 10, wantErr: io.EOF, wantCalls: []span{{0, 10}}},
		{name: "short object exact", size: 10, off: 5, len: 5, wantN: 5, wantCalls: []span{{0, 10}}},
		{name: "short object at end", size: 10, off: 10, len: 5, wantErr: io.EOF},
		{name: "short object past end", size: 10, off: 11, len: 5, wantErr: io.EOF},
		{name: "empty object", size: 0, off: 0, len: 5, wantErr: io.EOF},
		{name: "empty read", size: 250, off: 3, len: 0},
		{name: "last partial block", size: 250, off: 210, len: 100, wantN: 40, wantErr: io.EOF, wantCalls: []span{{200, 250}}},
		{name: "last partial block exact", size: 250, off: 200, len: 50, wantN: 50, wantCalls: []span{{200, 250}}},
		{name: "across into partial block", size: 250, off: 150, len: 500, wantN: 100, wantErr: io.EOF, wantCalls: []span{{100, 250}}},
		{name: "block boundary end", size: 300, off: 250, len: 50, wantN: 50, wantCalls: []span{{200, 300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Options{Memory: 10 * bs, BlockSize: bs})
			src := &rampSource{seed: 7, size: tt.size}
			obj := Object{Key: "k", Size: tt.size, Src: src}
			p := make([]byte, tt.len)
			n, err := c.ReadAt(t.Context(), obj, p, tt.off)
			if n != tt.wantN || err != tt.wantErr {
				t.Fatalf("ReadAt = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			if !bytes.Equal(p[:n], ramp(7, tt.off, int64(n))) {
				t.Errorf("wrong bytes")
			}
			if got := src.Calls(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %v, want %v", got, tt.wantCalls)
			}
		})
	}
}

func TestReadAtInvalid(t *testing.T) {
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	src := &rampSource{size: 100}
	tests := []struct {
		name string
		obj  Object
		off  int64
	}{
		{name: "negative offset", obj: Object{Key: "k", Size: 100, Src: src}, off: -1},
		{name: "unknown size", obj: Object{Key: "k", Size: -1, Src: src}},
		{name: "nil source", obj: Object{Key: "k", Size: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := c.ReadAt(t.Context(), tt.obj, make([]byte, 10), tt.off)
			if n != 0 || err == nil || err == io.EOF {
				t.Errorf("ReadAt = %d, %v; want 0 and an error", n, err)
			}
		})
	}
}

func TestReadAtMergesMissingRuns(t *testing.T) {
	const bs = 100
	const size = 950 // 10 blocks, the last one 50 bytes
	tests := []struct {
		name      string
		pre       []span // ranges read before, to make blocks resident
		off, end  int64
		wantCalls []span
	}{
		{name: "cold aligned", off: 0, end: 400, wantCalls: []span{{0, 400}}},
		{name: "cold unaligned", off: 150, end: 420, wantCalls: []span{{100, 500}}},
		{name: "cold to the end", off: 850, end: 2000, wantCalls: []span{{800, 950}}},
		{name: "cold whole object", off: 0, end: 950, wantCalls: []span{{0, 950}}},
		{
			name: "partially cached",
			pre:  []span{{100, 200}, {300, 400}},
			off:  0, end: 600,
			wantCalls: []span{{0, 100}, {200, 300}, {400, 600}},
		},
		{
			name: "cached ends, gap in the middle",
			pre:  []span{{0, 100}, {500, 600}},
			off:  50, end: 550,
			wantCalls: []span{{100, 500}},
		},
		{
			name: "cached middle, cold tail",
			pre:  []span{{0, 300}},
			off:  0, end: 950,
			wantCalls: []span{{300, 950}},
		},
		{name: "all cached", pre: []span{{0, 950}}, off: 10, end: 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			c := newCache(t, Options{Memory: 20 * bs, BlockSize: bs})
			src := &rampSource{seed: 3, size: size}
			obj := Object{Key: "k", Size: size, Src: src}
			for _, s := range tt.pre {
				if _, err := c.ReadAt(t.Context(), obj, make([]byte, s.End-s.Off), s.Off); err != nil && err != io.EOF {
					t.Fatalf("pre read %v: %v", s, err)
				}
			}
			src.Reset()
			p := make([]byte, tt.end-tt.off)
			n, err := c.ReadAt(t.Context(), obj, p, tt.off)
			wantN := min(tt.end, size) - tt.off
			if int64(n) != wantN || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt = %d, %v; want %d", n, err, wantN)
			}
			if !bytes.Equal(p[:n], ramp(3, tt.off, int64(n))) {
				t.Errorf("wrong bytes")
			}
			if got := src.Calls(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %v, want %v", got, tt.wantCalls)
			}
			if !c.Contains("k", tt.off, tt.end-tt.off, size) {
				t.Errorf("Contains(%d, %d) = false after the read", tt.off, tt.end-tt.off)
			}
		})
	}
}

func TestReadAtSharedFetch(t *testing.T) {
	checkNoLeak(t)
	const readers = 8
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	src := &rampSource{seed: 1, size: 1000, gate: make(chan struct{})}
	obj := Object{Key: "k", Size: 1000, Src: src}

	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for i := range readers {
		wg.Go(func() {
			p := make([]byte, 10)
			off := int64(300 + 10*i) // all within block 3
			n, err := c.ReadAt(t.Context(), obj, p, off)
			switch {
			case err != nil:
				errs <- err
			case n != len(p) || !bytes.Equal(p, ramp(1, off, 10)):
				errs <- fmt.Errorf("reader %d: wrong data", i)
			}
		})
	}
	// Release the fetch only once every reader waits on it.
	waitFor(t, "all readers to miss", func() bool { return c.Stats().Misses == readers })
	close(src.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := src.Calls(); !slices.Equal(got, []span{{300, 400}}) {
		t.Errorf("calls = %v, want one for block 3", got)
	}
	if s := c.Stats(); s.Fetches != 1 || s.FetchedBytes != 100 || s.Bytes != 100 {
		t.Errorf("stats = %+v, want 1 fetch of 100 bytes, 100 resident", s)
	}
}

// TestReadAtAlreadyCancelled: a read whose ctx is cancelled before it
// starts still starts its fetch (and returns ctx.Err()), and serves bytes
// that are resident: a page fault interrupted by a signal is retried by the
// kernel with the same read, which must get further each time.
func TestReadAtAlreadyCancelled(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	src := &rampSource{seed: 4, size: 1000}
	obj := Object{Key: "k", Size: 1000, Src: src}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := make([]byte, 50)
	for i := 0; ; i++ {
		n, err := c.ReadAt(ctx, obj, p, 420)
		if err == nil {
			if n != len(p) || !bytes.Equal(p, ramp(4, 420, 50)) {
				t.Fatalf("read %d: %d bytes, wrong bytes", i, n)
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read %d: err %v, want context.Canceled or the bytes", i, err)
		}
		if i == 100 {
			t.Fatal("a cancelled read never got its bytes: its fetch never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := src.Calls(); !slices.Equal(got, []span{{400, 500}}) {
		t.Errorf("calls = %v, want one for block 4", got)
	}
}

func TestReadAtCancelledReader(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	src := &rampSource{seed: 2, size: 1000, gate: make(chan struct{})}
	obj := Object{Key: "k", Size: 1000, Src: src}

	// The other reader starts the fetch of blocks 1 and 2 ...
	other := make(chan error, 1)
	p := make([]byte, 100)
	go func() {
		_, err := c.ReadAt(context.Background(), obj, p, 150)
		other <- err
	}()
	waitFor(t, "the fetch to start", func() bool { return len(src.Calls()) == 1 })

	// ... and the reader to be cancelled joins it for block 1.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cancelled := make(chan error, 1)
	go func() {
		_, err := c.ReadAt(ctx, obj, make([]byte, 50), 120)
		cancelled <- err
	}()
	waitFor(t, "both readers to miss", func() bool { return c.Stats().Misses == 3 })

	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled reader: err = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled reader did not return while the fetch was blocked")
	}

	close(src.gate) // the fetch goes on although its first reader is gone
	if err := <-other; err != nil {
		t.Fatalf("other reader: %v", err)
	}
	if !bytes.Equal(p, ramp(2, 150, 100)) {
		t.Errorf("other reader: wrong bytes")
	}
	if got := src.Calls(); !slices.Equal(got, []span{{100, 300}}) {
		t.Errorf("calls = %v, want [{100 300}]", got)
	}
	waitFor(t, "blocks to be cached", func() bool { return c.Contains("k", 100, 200, 1000) })

	// Already cancelled: returns at once (with the bytes only if they are
	// there), and its fetch starts all the same, for the retry (see
	// TestReadAtAlreadyCancelled).
	src.Reset()
	q := make([]byte, 10)
	n, err := c.ReadAt(ctx, obj, q, 900)
	switch {
	case errors.Is(err, context.Canceled):
	case err == nil && n == len(q) && bytes.Equal(q, ramp(2, 900, 10)):
	default:
		t.Errorf("read with cancelled ctx: %d bytes, err = %v, want context.Canceled or the bytes", n, err)
	}
	waitFor(t, "the cancelled read's fetch", func() bool { return c.Contains("k", 900, 10, 1000) })
}

func TestReadAtFetchTimeout(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{Memory: 1000, BlockSize: 100, FetchTimeout: 20 * time.Millisecond})
	src := &rampSource{size: 1000, gate: make(chan struct{})} // never opened
	obj := Object{Key: "k", Size: 1000, Src: src}
	_, err := c.ReadAt(t.Context(), obj, make([]byte, 10), 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if c.Contains("k", 0, 10, 1000) {
		t.Errorf("timed out block is cached")
	}
}

func TestReadAtErrorNotCached(t *testing.T) {
	checkNoLeak(t)
	errBoom := errors.New("boom")
	firstCall := func(call int) bool { return call == 1 }
	tests := []struct {
		name       string
		src        *rampSource
		alwaysFail bool // the source never serves the range
		wantErr    error
	}{
		{
			name: "source error",
			src: &rampSource{seed: 4, size: 950, fail: func(call int) error {
				if firstCall(call) {
					return errBoom
				}
				return nil
			}},
			wantErr: errBoom,
		},
		{
			name: "short read mid object",
			src: &rampSource{seed: 4, size: 950, short: func(call, p int) int {
				if firstCall(call) {
					return p - 1
				}
				return p
			}},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name: "short read of the last block",
			src: &rampSource{seed: 4, size: 950, short: func(call, p int) int {
				if firstCall(call) {
					return 10
				}
				return p
			}},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:       "source object shorter than size",
			src:        &rampSource{seed: 4, size: 920},
			alwaysFail: true,
			wantErr:    io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Options{Memory: 1000, BlockSize: 100})
			obj := Object{Key: "k", Size: 950, Src: tt.src}
			const off = 850 // blocks 8 and 9 (50 bytes)
			p := make([]byte, 100)
			_, err := c.ReadAt(t.Context(), obj, p, off)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("first read: err = %v, want %v", err, tt.wantErr)
			}
			if c.Contains("k", off, 100, obj.Size) || c.Stats().Bytes != 0 {
				t.Fatalf("failed fetch was cached: %+v", c.Stats())
			}
			n, err := c.ReadAt(t.Context(), obj, p, off)
			if tt.alwaysFail {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("second read: err = %v, want %v", err, tt.wantErr)
				}
			} else if n != 100 || err != nil || !bytes.Equal(p[:n], ramp(4, off, int64(n))) {
				t.Fatalf("second read = %d, %v; want the 100 bytes up to the end", n, err)
			}
			if got := tt.src.Calls(); !slices.Equal(got, []span{{800, 950}, {800, 950}}) {
				t.Errorf("calls %v, want the range fetched twice (the error must not be cached)", got)
			}
		})
	}
}

func TestReadAtErrorToAllWaiters(t *testing.T) {
	checkNoLeak(t)
	errBoom := errors.New("boom")
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	src := &rampSource{size: 1000, gate: make(chan struct{}), fail: func(int) error { return errBoom }}
	obj := Object{Key: "k", Size: 1000, Src: src}
	const readers = 4
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() { _, errs[i] = c.ReadAt(t.Context(), obj, make([]byte, 10), 500) })
	}
	waitFor(t, "all readers to miss", func() bool { return c.Stats().Misses == readers })
	close(src.gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, errBoom) {
			t.Errorf("reader %d: err = %v, want %v", i, err, errBoom)
		}
	}
	if got := len(src.Calls()); got != 1 {
		t.Errorf("%d calls, want 1", got)
	}
}

type panicSource struct{}

func (panicSource) ReadAt(context.Context, []byte, int64) (int, error) { panic("oops") }

func TestReadAtSourcePanics(t *testing.T) {
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	obj := Object{Key: "k", Size: 1000, Src: panicSource{}}
	if _, err := c.ReadAt(t.Context(), obj, make([]byte, 10), 0); err == nil {
		t.Fatal("no error from a panicking source")
	}
	if c.Contains("k", 0, 10, 1000) {
		t.Error("block of a panicking source is cached")
	}
}

func TestEvictionByteBudget(t *testing.T) {
	const bs = 100
	const size = 5*bs + 30 // blocks 0..4 full, block 5 holds 30 bytes
	tests := []struct {
		name          string
		memory        int64
		wantResident  []int64 // blocks resident after reading every block in order
		wantBytes     int64
		wantEvictions int64
	}{
		{name: "all fit", memory: size, wantResident: []int64{0, 1, 2, 3, 4, 5}, wantBytes: size},
		{name: "exact fit of tail", memory: 2*bs + 30, wantResident: []int64{3, 4, 5}, wantBytes: 2*bs + 30, wantEvictions: 3},
		{name: "one byte short", memory: 2*bs + 29, wantResident: []int64{4, 5}, wantBytes: bs + 30, wantEvictions: 4},
		{name: "one block", memory: bs, wantResident: []int64{5}, wantBytes: 30, wantEvictions: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Options{Memory: tt.memory, BlockSize: bs})
			obj := Object{Key: "k", Size: size, Src: &rampSource{size: size}}
			for b := int64(0); b*bs < size; b++ {
				if _, err := c.ReadAt(t.Context(), obj, make([]byte, 1), b*bs); err != nil {
					t.Fatalf("read block %d: %v", b, err)
				}
				if s := c.Stats(); s.Bytes > tt.memory {
					t.Fatalf("after block %d: %d bytes resident, budget %d", b, s.Bytes, tt.memory)
				}
			}
			var resident []int64
			for b := int64(0); b*bs < size; b++ {
				if c.Contains("k", b*bs, 1, size) {
					resident = append(resident, b)
				}
			}
			if !slices.Equal(resident, tt.wantResident) {
				t.Errorf("resident blocks %v, want %v", resident, tt.wantResident)
			}
			if s := c.Stats(); s.Bytes != tt.wantBytes || s.Evictions != tt.wantEvictions {
				t.Errorf("stats %+v, want %d bytes and %d evictions", s, tt.wantBytes, tt.wantEvictions)
			}
		})
	}
}

func TestEvictionLeastRecentlyUsed(t *testing.T) {
	const bs = 100
	c := newCache(t, Options{Memory: 3 * bs, BlockSize: bs})
	obj := Object{Key: "k", Size: 10 * bs, Src: &rampSource{size: 10 * bs}}
	read := func(b int64) {
		t.Helper()
		if _, err := c.ReadAt(t.Context(), obj, make([]byte, 1), b*bs); err != nil {
			t.Fatalf("read block %d: %v", b, err)
		}
	}
	read(0)
	read(1)
	read(2)
	read(0) // 0 is now the most recently used; 1 the least
	read(3)
	for b, want := range map[int64]bool{0: true, 1: false, 2: true, 3: true} {
		if got := c.Contains("k", b*bs, bs, 10*bs); got != want {
			t.Errorf("block %d resident = %v, want %v", b, got, want)
		}
	}
}

func TestKeysDoNotShareBlocks(t *testing.T) {
	c := newCache(t, Options{Memory: 10000, BlockSize: 100})
	v1 := &rampSource{seed: 10, size: 1000}
	v2 := &rampSource{seed: 20, size: 1000}
	objs := []struct {
		obj  Object
		src  *rampSource
		seed int
	}{
		{Object{Key: "https://h/a.tif\x00\"etag1\"", Size: 1000, Src: v1}, v1, 10},
		{Object{Key: "https://h/a.tif\x00\"etag2\"", Size: 1000, Src: v2}, v2, 20},
	}
	for round := range 2 {
		for _, o := range objs {
			p := make([]byte, 250)
			if _, err := c.ReadAt(t.Context(), o.obj, p, 120); err != nil {
				t.Fatalf("round %d %q: %v", round, o.obj.Key, err)
			}
			if !bytes.Equal(p, ramp(o.seed, 120, 250)) {
				t.Errorf("round %d %q: bytes of another version", round, o.obj.Key)
			}
		}
	}
	for _, o := range objs {
		if got := o.src.Calls(); !slices.Equal(got, []span{{100, 400}}) {
			t.Errorf("%q: calls %v, want one fetch", o.obj.Key, got)
		}
	}
	if s := c.Stats(); s.Fetches != 2 || s.Bytes != 600 {
		t.Errorf("stats %+v, want 2 fetches and 600 bytes", s)
	}
}

func TestContains(t *testing.T) {
	c := newCache(t, Options{Memory: 1000, BlockSize: 100})
	obj := Object{Key: "k", Size: 450, Src: &rampSource{size: 450}}
	if _, err := c.ReadAt(t.Context(), obj, make([]byte, 200), 100); err != nil { // blocks 1, 2
		t.Fatal(err)
	}
	if _, err := c.ReadAt(t.Context(), obj, make([]byte, 10), 440); err != nil { // block 4
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		off, n int64
		want   bool
		name   string
	}{
		{name: "resident blocks", key: "k", off: 100, n: 200, want: true},
		{name: "inside one block", key: "k", off: 150, n: 10, want: true},
		{name: "touches missing block 0", key: "k", off: 99, n: 2, want: false},
		{name: "touches missing block 3", key: "k", off: 250, n: 100, want: false},
		{name: "tail clipped to size", key: "k", off: 400, n: 1000, want: true},
		{name: "empty", key: "k", off: 0, n: 0, want: true},
		{name: "past end", key: "k", off: 500, n: 10, want: true},
		{name: "negative offset", key: "k", off: -1, n: 10, want: false},
		{name: "other key", key: "k2", off: 100, n: 10, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Contains(tt.key, tt.off, tt.n, 450); got != tt.want {
				t.Errorf("Contains(%q, %d, %d) = %v, want %v", tt.key, tt.off, tt.n, got, tt.want)
			}
		})
	}
}

func TestConcurrentRandomReads(t *testing.T) {
	checkNoLeak(t)
	const bs = 128
	const size = 64 * bs
	c := newCache(t, Options{Memory: 16 * bs, BlockSize: bs})
	src := &rampSource{seed: 9, size: size}
	obj := Object{Key: "k", Size: size, Src: src}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 200 {
				off := rng.Int64N(size)
				p := make([]byte, rng.IntN(4*bs)+1)
				ctx := t.Context()
				var cancel context.CancelFunc = func() {}
				if rng.IntN(10) == 0 {
					ctx, cancel = context.WithCancel(ctx)
					go cancel()
				}
				n, err := c.ReadAt(ctx, obj, p, off)
				cancel()
				if errors.Is(err, context.Canceled) {
					continue
				}
				if err != nil && err != io.EOF {
					t.Errorf("ReadAt: %v", err)
					return
				}
				if !bytes.Equal(p[:n], ramp(9, off, int64(n))) {
					t.Errorf("ReadAt(%d, %d): wrong bytes", off, len(p))
					return
				}
			}
		})
	}
	wg.Wait()
	if s := c.Stats(); s.Bytes > 16*bs {
		t.Errorf("resident %d bytes, budget %d", s.Bytes, 16*bs)
	}
}

func BenchmarkReadAtHit(b *testing.B) {
	const size = 8 << 20
	c := newCache(b, Options{})
	obj := Object{Key: "k", Size: size, Src: &rampSource{size: size}}
	ctx := context.Background()
	if _, err := c.ReadAt(ctx, obj, make([]byte, size), 0); err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	var off int64
	for b.Loop() {
		if _, err := c.ReadAt(ctx, obj, p, off); err != nil {
			b.Fatal(err)
		}
		off = (off + 100_003) % (size - int64(len(p)))
	}
}

func BenchmarkReadAtMiss(b *testing.B) {
	const size = 1 << 20
	c := newCache(b, Options{Memory: 4 << 20})
	src := &rampSource{size: size}
	ctx := context.Background()
	p := make([]byte, DefaultBlockSize)
	b.SetBytes(int64(len(p)))
	i := 0
	for b.Loop() {
		obj := Object{Key: fmt.Sprint("k", i), Size: size, Src: src}
		i++
		if _, err := c.ReadAt(ctx, obj, p, 0); err != nil {
			b.Fatal(err)
		}
		src.Reset()
	}
}
