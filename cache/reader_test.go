package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

// idle reports whether no fetch is in flight.
func (c *Cache) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight) == 0
}

// readOrder returns the offsets of the reads of size step that cover size
// bytes, reordered like the kernel might: each group of g reads is
// permuted by perm (indexes into the group).
func readOrder(size, step int64, g int, perm []int) []int64 {
	var offs []int64
	for base := int64(0); base < size; base += int64(g) * step {
		for _, i := range perm {
			if off := base + int64(i)*step; off < size {
				offs = append(offs, off)
			}
		}
	}
	return offs
}

func TestReaderSequential(t *testing.T) {
	const (
		bs   = 128 << 10
		size = 64<<20 + 12345 // not a whole number of blocks
	)
	want := ramp(5, 0, size)
	tests := []struct {
		name       string
		g          int   // reads per reordered group
		perm       []int // order within a group
		concurrent bool  // the reads of a group run at once
	}{
		{name: "in order", g: 1, perm: []int{0}},
		{name: "pairs swapped", g: 2, perm: []int{1, 0}},
		{name: "groups of 8 shuffled", g: 8, perm: []int{2, 0, 1, 5, 3, 7, 4, 6}},
		{name: "groups of 4 concurrent", g: 4, perm: []int{0, 1, 2, 3}, concurrent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			c := newCache(t, Options{BlockSize: bs})
			src := &rampSource{seed: 5, size: size, delay: 2 * time.Millisecond}
			r := c.NewReader(Object{Key: "k", Size: size, Src: src})
			defer r.Close()

			read := func(off int64) error {
				p := make([]byte, bs)
				n, err := r.ReadAt(t.Context(), p, off)
				if err != nil && err != io.EOF {
					return fmt.Errorf("ReadAt(%d): %v", off, err)
				}
				if !bytes.Equal(p[:n], want[off:off+int64(n)]) {
					return fmt.Errorf("ReadAt(%d): wrong bytes", off)
				}
				return nil
			}
			offs := readOrder(size, bs, tt.g, tt.perm)
			for i := 0; i < len(offs); i += tt.g {
				group := offs[i:min(i+tt.g, len(offs))]
				if !tt.concurrent {
					for _, off := range group {
						if err := read(off); err != nil {
							t.Fatal(err)
						}
					}
					continue
				}
				errs := make([]error, len(group))
				var wg sync.WaitGroup
				for j, off := range group {
					wg.Go(func() { errs[j] = read(off) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "fetches to end", c.idle)

			calls := src.Calls()
			reads := len(offs)
			if len(calls) > reads/10 {
				t.Errorf("%d source calls for %d reads, want at most %d", len(calls), reads, reads/10)
			}
			// Every byte once, nothing past the end.
			var covered int64
			for i, s := range calls {
				if s.End > size {
					t.Errorf("call %v reaches past the size %d", s, size)
				}
				if i > 0 && s.Off < calls[i-1].End {
					t.Errorf("calls %v and %v overlap", calls[i-1], s)
				}
				covered += s.End - s.Off
			}
			if covered != size {
				t.Errorf("calls cover %d bytes, want %d", covered, size)
			}
			// Prefetch requests (more than two blocks) grow, in offset
			// order, up to the chunk size; the last one is cut by the
			// object end.
			var sizes []int64
			for _, s := range calls[:len(calls)-1] {
				if n := s.End - s.Off; n > 2*bs {
					sizes = append(sizes, n)
				}
			}
			if len(sizes) < 10 || sizes[0] > 1<<20 || !slices.IsSorted(sizes) || slices.Max(sizes) != 4<<20 {
				t.Errorf("prefetch sizes %v, want growing from at most 1 MiB to %d", sizes, 4<<20)
			}
			if n := src.MaxActive(); n < 4 {
				t.Errorf("at most %d fetches at once, want prefetches in parallel (4 or more)", n)
			}
			if n := src.MaxActive(); n > DefaultReadAheadParallel+tt.g {
				t.Errorf("%d fetches at once, want at most %d prefetches plus the reads", n, DefaultReadAheadParallel)
			}
			if s := c.Stats(); s.Fetches != int64(len(calls)) || s.Hits+s.Misses != int64(reads) {
				t.Errorf("stats %+v, want %d fetches and %d lookups", s, len(calls), reads)
			}
		})
	}
}

func TestReaderWindowCappedByMemory(t *testing.T) {
	tests := []struct {
		name      string
		memory    int64
		readers   int
		wantMaxRq int64 // largest request: the window cap (Memory/4) or the chunk
	}{
		{name: "1 MiB, one reader", memory: 1 << 20, readers: 1, wantMaxRq: 256 << 10},
		{name: "4 MiB, one reader", memory: 4 << 20, readers: 1, wantMaxRq: 1 << 20},
		{name: "8 MiB, two readers", memory: 8 << 20, readers: 2, wantMaxRq: 2 << 20},
		{name: "16 MiB, chunked", memory: 16 << 20, readers: 1, wantMaxRq: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			const bs = 64 << 10
			size := 10 * tt.memory // streamed through the budget
			c := newCache(t, Options{Memory: tt.memory, BlockSize: bs})
			var wg sync.WaitGroup
			srcs := make([]*rampSource, tt.readers)
			for i := range tt.readers {
				srcs[i] = &rampSource{seed: i, size: size}
				r := c.NewReader(Object{Key: fmt.Sprint("k", i), Size: size, Src: srcs[i]})
				wg.Go(func() {
					defer r.Close()
					p := make([]byte, 128<<10)
					for off := int64(0); off < size; off += int64(len(p)) {
						n, err := r.ReadAt(t.Context(), p, off)
						if err != nil || !bytes.Equal(p[:n], ramp(i, off, int64(n))) {
							t.Errorf("reader %d: ReadAt(%d) = %d, %v or wrong bytes", i, off, n, err)
							return
						}
						if b := c.Stats().Bytes; b > tt.memory {
							t.Errorf("%d bytes resident, budget %d", b, tt.memory)
							return
						}
					}
				})
			}
			wg.Wait()
			waitFor(t, "fetches to end", c.idle)
			for i, src := range srcs {
				calls := src.Calls()
				var largest int64
				for _, s := range calls {
					largest = max(largest, s.End-s.Off)
				}
				if largest != tt.wantMaxRq {
					t.Errorf("reader %d: largest request %d, want %d", i, largest, tt.wantMaxRq)
				}
				// Requests of the largest size, after a few growing ones.
				// Readers that share a small budget may lose some
				// prefetched blocks to each other before reading them.
				reads, most := size/(128<<10), size/tt.wantMaxRq+8
				if tt.readers > 1 {
					most *= 2
				}
				if int64(len(calls)) > most {
					t.Errorf("reader %d: %d calls for %d reads, want at most %d", i, len(calls), reads, most)
				}
			}
			if b := c.Stats().Bytes; b > tt.memory {
				t.Errorf("%d bytes resident, budget %d", b, tt.memory)
			}
		})
	}
}

func TestReaderRandomNoPrefetch(t *testing.T) {
	const (
		bs   = 64 << 10
		size = 64 << 20
	)
	type rd struct{ off, n int64 }
	tests := []struct {
		name  string
		reads []rd
	}{
		{name: "forward jumps", reads: []rd{{0, 100}, {5 << 20, bs}, {10 << 20, 4096}, {20 << 20, 3 * bs}, {40 << 20, 1}}},
		{name: "backward jumps", reads: []rd{{60 << 20, bs}, {50 << 20, bs}, {30 << 20, 2 * bs}, {5 << 20, bs}, {1 << 20, 10}}},
		{name: "unaligned across blocks", reads: []rd{{bs - 10, 20}, {9<<20 + 5, 2 * bs}, {2<<20 + bs/2, bs}, {33 << 20, 5 * bs}}},
		{name: "to the end", reads: []rd{{size - 100, 1000}, {size - 9<<20, bs}, {size - 20<<20, bs}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			c := newCache(t, Options{BlockSize: bs})
			src := &rampSource{seed: 8, size: size}
			r := c.NewReader(Object{Key: "k", Size: size, Src: src})
			defer r.Close()
			var wantCalls []span
			for _, x := range tt.reads {
				p := make([]byte, x.n)
				n, err := r.ReadAt(t.Context(), p, x.off)
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], ramp(8, x.off, int64(n))) {
					t.Fatalf("ReadAt(%d, %d) = %d, %v or wrong bytes", x.off, x.n, n, err)
				}
				end := min(x.off+x.n, size)
				wantCalls = append(wantCalls, span{x.off / bs * bs, min((end+bs-1)/bs*bs, size)})
			}
			waitFor(t, "fetches to end", c.idle)
			slices.SortFunc(wantCalls, func(a, b span) int { return int(a.Off - b.Off) })
			if got := src.Calls(); !slices.Equal(got, wantCalls) {
				t.Errorf("calls %v, want only the blocks touched %v", got, wantCalls)
			}
		})
	}
}

func TestReaderJumpDropsQueuedChunks(t *testing.T) {
	checkNoLeak(t)
	const bs = 64 << 10
	const size = 256 << 20
	// One prefetch at a time: the chunks of a large window queue up.
	c := newCache(t, Options{BlockSize: bs, ReadAheadParallel: 1, ReadAheadChunk: bs})
	src := &rampSource{seed: 1, size: size, gate: make(chan struct{}), gateFrom: 2 * bs}
	r := c.NewReader(Object{Key: "k", Size: size, Src: src})
	defer r.Close()
	for _, off := range []int64{0, bs} { // sequential: a 1 MiB window in 16 chunks
		if _, err := r.ReadAt(t.Context(), make([]byte, bs), off); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first chunk to be asked", func() bool { return len(src.Calls()) == 3 })
	// A jump while the first chunk is still blocked.
	far := int64(100 << 20)
	done := make(chan error, 1)
	go func() {
		_, err := r.ReadAt(t.Context(), make([]byte, 10), far)
		done <- err
	}()
	waitFor(t, "the jump to reset the window", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.window == 0 && len(r.pending) == 0
	})
	close(src.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fetches to end", c.idle)
	want := []span{{0, bs}, {bs, 2 * bs}, {2 * bs, 3 * bs}, {far, far + bs}}
	if got := src.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v: the queued chunks of the old window must be dropped", got, want)
	}
}

func TestReaderCancelledDoesNotCancelPrefetch(t *testing.T) {
	checkNoLeak(t)
	const bs = 64 << 10
	const size = 8 << 20
	c := newCache(t, Options{BlockSize: bs})
	// Blocks 0-3 come at once; the prefetch from block 4 waits for gate.
	src := &rampSource{seed: 6, size: size, gate: make(chan struct{}), gateFrom: 4 * bs}
	obj := Object{Key: "k", Size: size, Src: src}
	r := c.NewReader(obj)
	for _, off := range []int64{0, 2 * bs} {
		if _, err := r.ReadAt(t.Context(), make([]byte, 2*bs), off); err != nil {
			t.Fatal(err)
		}
	}
	prefetch := span{4 * bs, 4*bs + 1<<20}
	waitFor(t, "the prefetch to start", func() bool { return slices.Contains(src.Calls(), prefetch) })

	// The handle's next read waits on the prefetch, and is interrupted.
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan error, 1)
	go func() {
		_, err := r.ReadAt(ctx, make([]byte, bs), 4*bs)
		cancelled <- err
	}()
	// Another reader of the object waits on the same prefetch.
	other := make(chan error, 1)
	p := make([]byte, 3*bs)
	go func() {
		_, err := c.ReadAt(context.Background(), obj, p, 5*bs+7)
		other <- err
	}()
	waitFor(t, "both to wait", func() bool { return c.Stats().Misses >= 4 })
	cancel()
	r.Close()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled read: err = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled read did not return")
	}

	close(src.gate)
	if err := <-other; err != nil {
		t.Fatalf("other reader: %v", err)
	}
	if !bytes.Equal(p, ramp(6, 5*bs+7, 3*bs)) {
		t.Error("other reader: wrong bytes")
	}
	waitFor(t, "fetches to end", c.idle)
	if !c.Contains("k", prefetch.Off, prefetch.End-prefetch.Off, size) {
		t.Error("prefetched window not cached")
	}
	want := []span{{0, 2 * bs}, {2 * bs, 4 * bs}, prefetch}
	if got := src.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v (one prefetch, shared, never cancelled)", got, want)
	}
}

func TestReaderClosedStopsPrefetch(t *testing.T) {
	checkNoLeak(t)
	const bs = 64 << 10
	const size = 16 << 20
	c := newCache(t, Options{BlockSize: bs})
	src := &rampSource{seed: 2, size: size}
	r := c.NewReader(Object{Key: "k", Size: size, Src: src})
	r.Close()
	for off := int64(0); off < 4*bs; off += bs {
		if _, err := r.ReadAt(t.Context(), make([]byte, bs), off); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "fetches to end", c.idle)
	want := []span{{0, bs}, {bs, 2 * bs}, {2 * bs, 3 * bs}, {3 * bs, 4 * bs}}
	if got := src.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want the reads only", got)
	}
}

func TestPrime(t *testing.T) {
	const bs = 100
	const size = 950 // blocks 0-8 of 100 bytes, block 9 of 50
	tests := []struct {
		name       string
		off        int64
		n          int64 // bytes primed
		wantBlocks []int64
	}{
		{name: "head", off: 0, n: 300, wantBlocks: []int64{0, 1, 2}},
		{name: "head with a partial block", off: 0, n: 250, wantBlocks: []int64{0, 1}},
		{name: "unaligned both ends", off: 50, n: 370, wantBlocks: []int64{1, 2, 3}},
		{name: "less than a block", off: 120, n: 60},
		{name: "short last block", off: 900, n: 50, wantBlocks: []int64{9}},
		{name: "tail, data past the size", off: 800, n: 400, wantBlocks: []int64{8, 9}},
		{name: "whole object", off: 0, n: size, wantBlocks: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{name: "past the end", off: 950, n: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Options{Memory: 100 * bs, BlockSize: bs})
			src := &rampSource{seed: 4, size: size}
			obj := Object{Key: "k", Size: size, Src: src}
			data := ramp(4, tt.off, tt.n) // bytes past the size are ramp too, and ignored
			c.Prime(obj, tt.off, data)
			clear(data) // Prime copied what it keeps
			for b := int64(0); b*bs < size; b++ {
				want := slices.Contains(tt.wantBlocks, b)
				if got := c.Contains("k", b*bs, 1, size); got != want {
					t.Errorf("block %d resident = %v, want %v", b, got, want)
				}
				if !want {
					continue
				}
				p := make([]byte, bs)
				n, err := c.ReadAt(t.Context(), obj, p, b*bs)
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], ramp(4, b*bs, int64(n))) {
					t.Errorf("block %d: ReadAt = %d, %v or wrong bytes", b, n, err)
				}
			}
			if got := src.Calls(); len(got) != 0 {
				t.Errorf("primed blocks fetched: calls %v", got)
			}
		})
	}
}

func BenchmarkSequentialReader(b *testing.B) {
	const size = 64 << 20
	c := newCache(b, Options{})
	src := &rampSource{size: size}
	ctx := context.Background()
	p := make([]byte, 128<<10)
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		r := c.NewReader(Object{Key: fmt.Sprint("k", i), Size: size, Src: src})
		i++
		for off := int64(0); off < size; off += int64(len(p)) {
			if _, err := r.ReadAt(ctx, p, off); err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
		src.Reset()
	}
}

// TestReaderStartsAfterStreak: with the defaults, a few adjacent reads (a
// row of tiles, past the file's head) fetch only what they touch;
// read-ahead starts once DefaultReadAheadStart bytes were read in sequence.
func TestReaderStartsAfterStreak(t *testing.T) {
	checkNoLeak(t)
	const bs = 128 << 10
	const size = 64 << 20
	c, err := New(Options{BlockSize: bs})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	src := &rampSource{seed: 3, size: size}
	r := c.NewReader(Object{Key: "k", Size: size, Src: src})
	defer r.Close()
	p := make([]byte, 3*bs) // a tile of 384 KiB
	for off := int64(1 << 20); off < 2<<20; off += int64(len(p)) {
		if _, err := r.ReadAt(t.Context(), p, off); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "fetches to end", c.idle)
	var fetched int64
	for _, s := range src.Calls() {
		fetched += s.End - s.Off
	}
	if fetched > 3*3*bs {
		t.Errorf("three adjacent tile reads fetched %d bytes, want only the %d they touch", fetched, 3*3*bs)
	}
	for off := int64(2 << 20); off < DefaultReadAheadStart+(2<<20); off += int64(len(p)) {
		if _, err := r.ReadAt(t.Context(), p, off); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "fetches to end", c.idle)
	var beyond bool
	for _, s := range src.Calls() {
		beyond = beyond || s.End > DefaultReadAheadStart+(3<<20)
	}
	if !beyond {
		t.Error("no read-ahead after the streak")
	}
}

// TestReaderWholeFileFromStart: a reader going through the file from its
// first byte (cp) gets read-ahead once it has read 256 KiB, long before
// DefaultReadAheadStart; a reader of the first few KiB (a COG header) does
// not.
func TestReaderWholeFileFromStart(t *testing.T) {
	checkNoLeak(t)
	const bs = 16 << 10
	const size = 64 << 20
	for _, tc := range []struct {
		name      string
		reads     int
		readSize  int
		readAhead bool
	}{
		{"cp, 128 KiB reads", 3, 128 << 10, true},
		{"header, 4 KiB reads", 4, 4 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{BlockSize: bs})
			if err != nil {
				t.Fatal(err)
			}
			checkAtEnd(t, c)
			src := &rampSource{seed: 5, size: size}
			r := c.NewReader(Object{Key: "k", Size: size, Src: src})
			defer r.Close()
			p := make([]byte, tc.readSize)
			for i := range tc.reads {
				if _, err := r.ReadAt(t.Context(), p, int64(i*tc.readSize)); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "fetches to end", c.idle)
			var fetched int64
			for _, s := range src.Calls() {
				fetched = max(fetched, s.End)
			}
			read := int64(tc.reads * tc.readSize)
			if got := fetched > read+bs; got != tc.readAhead {
				t.Errorf("fetched up to %d after reading %d: read-ahead %v, want %v", fetched, read, got, tc.readAhead)
			}
		})
	}
}

// gatedProgress is a ProgressSource that delivers the first head bytes of
// each read at once, then waits for gate before the rest.
type gatedProgress struct {
	rampSource
	head int
	gate chan struct{}
}

func (g *gatedProgress) ReadAtProgress(ctx context.Context, p []byte, off int64, progress func(int)) (int, error) {
	g.mu.Lock()
	g.calls = append(g.calls, span{off, off + int64(len(p))})
	g.mu.Unlock()
	h := min(g.head, len(p))
	fillRamp(p[:h], g.seed, off)
	progress(h)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return h, ctx.Err()
	}
	fillRamp(p[h:], g.seed, off+int64(h))
	progress(len(p))
	return len(p), nil
}

// TestProgressServesEarlyBlocks: a read of the first block of a long fetch
// returns as soon as that block's bytes are in, not when the fetch ends;
// a read of a later block waits for it.
func TestProgressServesEarlyBlocks(t *testing.T) {
	checkNoLeak(t)
	const bs = 16 << 10
	c, err := New(Options{BlockSize: bs})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	src := &gatedProgress{rampSource: rampSource{seed: 4, size: 1 << 20}, head: 2 * bs, gate: make(chan struct{})}
	obj := Object{Key: "k", Size: 1 << 20, Src: src}
	whole := make([]byte, 8*bs)
	wholeDone := make(chan error, 1)
	go func() { // one fetch of 8 blocks
		_, err := c.ReadAt(context.Background(), obj, whole, 0)
		wholeDone <- err
	}()
	waitFor(t, "the fetch to start", func() bool { return len(src.Calls()) == 1 })
	p := make([]byte, bs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.ReadAt(ctx, obj, p, bs); err != nil { // block 1: delivered early
		t.Fatalf("early block: %v", err)
	}
	want := make([]byte, bs)
	fillRamp(want, 4, bs)
	if !bytes.Equal(p, want) {
		t.Fatal("early block: wrong bytes")
	}
	late := make(chan error, 1)
	go func() {
		_, err := c.ReadAt(context.Background(), obj, p, 5*bs)
		late <- err
	}()
	select {
	case err := <-late:
		t.Fatalf("a block not delivered yet was read: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(src.gate)
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	if err := <-wholeDone; err != nil {
		t.Fatal(err)
	}
	if n := len(src.Calls()); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestReadView: a read within one fetch is served as a slice of the cache's
// memory, a read across two fetches is copied into p; both hold the right
// bytes, also after the blocks are evicted.
func TestReadView(t *testing.T) {
	for _, heap := range []bool{false, true} {
		t.Run(fmt.Sprintf("heap=%v", heap), func(t *testing.T) { testReadView(t, heap) })
	}
}

func testReadView(t *testing.T, heap bool) {
	const bs = 16 << 10
	c, err := New(Options{BlockSize: bs, Memory: 8 * bs, HeapMemory: heap})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	src := &rampSource{seed: 21, size: 1 << 20}
	obj := Object{Key: "k", Size: 1 << 20, Src: src}
	r := c.NewReader(obj)
	defer r.Close()
	ctx := context.Background()
	want := func(off, n int64) []byte { b := make([]byte, n); fillRamp(b, 21, off); return b }
	evictAll := func() {
		for off := int64(8 * bs); off < 1<<20; off += bs {
			if _, err := r.ReadAt(ctx, make([]byte, bs), off); err != nil {
				t.Fatal(err)
			}
		}
	}

	p := make([]byte, 3*bs)
	view, release, err := r.ReadView(ctx, p, 100) // one fetch: a view
	if err != nil || !bytes.Equal(view, want(100, 3*bs)) {
		t.Fatalf("one fetch: err %v, right bytes %v", err, bytes.Equal(view, want(100, 3*bs)))
	}
	if &view[0] == &p[0] {
		t.Error("a read within one fetch was copied, want a view of the cache")
	}
	// The view stays valid until released, also when its blocks are
	// evicted meanwhile.
	evictAll()
	if !bytes.Equal(view, want(100, 3*bs)) {
		t.Error("a view changed after its blocks were evicted, before release")
	}
	release()
	release() // twice is harmless

	// Blocks 3..4 were fetched with the first read (blocks 0..3); block 5
	// on its own: a read over 3..5 spans two fetches.
	if _, err := r.ReadAt(ctx, make([]byte, 10), 5*bs+1); err != nil {
		t.Fatal(err)
	}
	b, release, err := r.ReadView(ctx, p, 3*bs-7)
	if err != nil || !bytes.Equal(b, want(3*bs-7, 3*bs)) {
		t.Fatalf("two fetches: err %v, right bytes %v", err, bytes.Equal(b, want(3*bs-7, 3*bs)))
	}
	if &b[0] != &p[0] {
		t.Error("a read over two fetches was not copied into p")
	}
	release()
	evictAll()
	if !bytes.Equal(b, want(3*bs-7, 3*bs)) {
		t.Error("bytes copied into p changed after eviction")
	}
	b, release, err = r.ReadView(ctx, p, 1<<20-100) // at the end: short, io.EOF
	if err != io.EOF || !bytes.Equal(b, want(1<<20-100, 100)) {
		t.Errorf("at the end: %d bytes, err %v", len(b), err)
	}
	release()
	if s := c.Stats(); s.Bytes > 8*bs {
		t.Errorf("resident bytes %d over the budget %d", s.Bytes, 8*bs)
	}
}

// TestNoReadAhead reads a file through from its start with read-ahead off:
// the source is asked for exactly the bytes read, nothing past them.
func TestNoReadAhead(t *testing.T) {
	const (
		bs   = 16 << 10
		size = 4 << 20
	)
	c := newCache(t, Options{BlockSize: bs, NoReadAhead: true})
	src := &rampSource{seed: 9, size: size}
	r := c.NewReader(Object{Key: "k", Size: size, Src: src})
	defer r.Close()
	want := ramp(9, 0, size)
	const half = size / 2
	p := make([]byte, 128<<10)
	for off := int64(0); off < half; off += int64(len(p)) {
		n, err := r.ReadAt(t.Context(), p, off)
		if err != nil || !bytes.Equal(p[:n], want[off:off+int64(n)]) {
			t.Fatalf("ReadAt(%d) = %d, %v or wrong bytes", off, n, err)
		}
	}
	var fetched int64
	for _, s := range src.Calls() {
		if s.End > half {
			t.Errorf("fetch %d-%d past the %d bytes read", s.Off, s.End, half)
		}
		fetched += s.End - s.Off
	}
	if fetched != half {
		t.Errorf("fetched %d bytes, read %d", fetched, half)
	}
	if st := c.Stats(); st.InFlight != 0 {
		t.Errorf("%d blocks in flight after the reads", st.InFlight)
	}
}
