package cache

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestArena(t *testing.T) {
	a, err := newArena(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	af := a.files[0]
	if got := af.seg * arenaSegments; got != int64(len(af.mem)) {
		t.Fatalf("segments cover %d bytes of a %d-byte mapping", got, len(af.mem))
	}

	b, e, ok := a.alloc(10000)
	if !ok || len(b) != 10000 || cap(b) != 10000 || e.n != 12288 || !a.contains(b) {
		t.Fatalf("alloc: len %d cap %d extent %+v ok %v", len(b), cap(b), e, ok)
	}
	if !bytes.Equal(b, make([]byte, len(b))) {
		t.Error("fresh arena memory is not zero")
	}
	// Put through the file shows through the mapping.
	src := bytes.Repeat([]byte("stacfs"), 1000)
	if err := a.put(b[100:100+len(src)], src); err != nil || !bytes.Equal(b[100:100+len(src)], src) {
		t.Fatalf("put: %v, visible %v", err, bytes.Equal(b[100:100+len(src)], src))
	}
	// Put into heap memory copies.
	heap := make([]byte, 10)
	if err := a.put(heap, []byte("0123456789")); err != nil || string(heap) != "0123456789" || a.contains(heap) {
		t.Errorf("put into heap memory: %v %q", err, heap)
	}
	if err := a.put(heap[:2], []byte("abc")); err == nil {
		t.Error("put of 3 bytes into 2: no error")
	}

	// A freed range comes back zero (its pages were given back).
	a.free(e)
	for range len(a.files) - 1 { // round robin back to the same file
		if _, e2, ok := a.alloc(1); ok {
			defer a.free(e2)
		}
	}
	b2, e2, ok := a.alloc(10000)
	if !ok || e2.file != e.file || e2.off != e.off {
		t.Fatalf("alloc after free: %+v ok %v, want the freed range %+v", e2, ok, e)
	}
	if !bytes.Equal(b2, make([]byte, len(b2))) {
		t.Error("reused arena memory is not zero after free")
	}
	a.free(e2)

	if _, _, ok := a.alloc(af.seg + 1); ok {
		t.Error("alloc larger than a segment succeeded")
	}
	if _, _, ok := a.alloc(0); ok {
		t.Error("alloc of 0 bytes succeeded")
	}
}

// TestArenaFull: a file whose every segment holds a live extent refuses to
// allocate until one of them is freed.
func TestArenaFull(t *testing.T) {
	a, err := newArena(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	var held []extent
	for i := range arenaSegments * len(a.files) { // one whole segment each
		_, e, ok := a.alloc(a.files[0].seg)
		if !ok {
			t.Fatalf("alloc %d failed", i)
		}
		held = append(held, e)
	}
	if _, _, ok := a.alloc(pageSize); ok {
		t.Fatal("alloc in a full arena succeeded")
	}
	for _, e := range held {
		a.free(e)
	}
	for range len(a.files) {
		if _, _, ok := a.alloc(pageSize); !ok {
			t.Fatal("alloc after freeing everything failed")
		}
	}
}

// TestCacheArenaGivesMemoryBack: reading an object many times the budget
// through the arena keeps the live arena memory within the budget plus
// what reads pin, and evicted blocks' memory is given back.
func TestCacheArenaGivesMemoryBack(t *testing.T) {
	const bs = 16 << 10
	c, err := New(Options{BlockSize: bs, Memory: 64 * bs})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	if c.arena == nil {
		t.Fatal("no arena")
	}
	const size = 8 << 20
	obj := Object{Key: "k", Size: size, Src: &rampSource{seed: 4, size: size}}
	r := c.NewReader(obj)
	p := make([]byte, 128<<10)
	want := make([]byte, len(p))
	for off := int64(0); off < size; off += int64(len(p)) {
		n, err := r.ReadAt(context.Background(), p, off)
		fillRamp(want, 4, off)
		if err != nil || n != len(p) || !bytes.Equal(p, want) {
			t.Fatalf("read at %d: %d bytes, err %v", off, n, err)
		}
	}
	r.Close()
	waitIdle(t, c)
	live := int64(0)
	for _, af := range c.arena.files {
		af.mu.Lock()
		for _, n := range af.live {
			live += int64(n)
		}
		af.mu.Unlock()
	}
	c.mu.Lock()
	buffers := map[*buffer]bool{}
	for _, k := range c.lru.Keys() {
		e, _ := c.lru.Peek(k)
		buffers[e.buf] = true
	}
	c.mu.Unlock()
	arenaBuffers := int64(0)
	for b := range buffers {
		if b.ext.ok() {
			arenaBuffers++
		}
	}
	if live != arenaBuffers {
		t.Errorf("%d arena extents live, want %d (one per buffer holding resident blocks)", live, arenaBuffers)
	}
}

// waitIdle waits until c has no fetch in flight (a fetch unpins its memory
// as it leaves the in-flight table, under the same lock).
func waitIdle(t *testing.T, c *Cache) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().InFlight > 0 {
		if time.Now().After(deadline) {
			t.Fatal("fetches still in flight")
		}
		time.Sleep(time.Millisecond)
	}
}

// arenaResident returns the bytes of memory the arena's files hold now.
func arenaResident(t *testing.T, a *arena) int64 {
	t.Helper()
	var n int64
	for _, af := range a.files {
		var st unix.Stat_t
		if err := unix.Fstat(int(af.f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		n += st.Blocks * 512
	}
	return n
}

// TestCacheArenaPerBlock: arena memory is charged and given back block by
// block: one read of four times the budget keeps its last blocks (not
// nothing, as a buffer larger than the budget would), and the arena's files
// then hold no more than the budget; a hot block does not keep the rest of
// its fetch's memory.
func TestCacheArenaPerBlock(t *testing.T) {
	const bs = 16 << 10
	const budget = 64 * bs
	c, err := New(Options{BlockSize: bs, Memory: budget})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	const size = 4 * budget
	obj := Object{Key: "k", Size: size, Src: &rampSource{seed: 6, size: size}}
	p := make([]byte, size)
	if n, err := c.ReadAt(context.Background(), obj, p, 0); err != nil || n != size || !bytes.Equal(p, ramp(6, 0, size)) {
		t.Fatalf("read: %d bytes, err %v", n, err)
	}
	waitIdle(t, c)
	if s := c.Stats(); s.Bytes != budget {
		t.Errorf("resident %d bytes after a read of %d, want the budget %d", s.Bytes, size, budget)
	}
	if !c.Contains("k", size-bs, size, size) {
		t.Error("the last block of the read is not resident")
	}
	// The resident blocks stay in the fetch's arena memory (no copies
	// of them elsewhere), and the evicted ones' pages are gone.
	if n := arenaResident(t, c.arena); n != budget {
		t.Errorf("arena files hold %d bytes, want the budget %d", n, budget)
	}

	// One hot block of a fetch; the rest of the fetch evicted by others.
	hot := Object{Key: "hot", Size: 8 * bs, Src: &rampSource{seed: 7, size: 8 * bs}}
	if _, err := c.ReadAt(context.Background(), hot, make([]byte, 8*bs), 0); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		other := Object{Key: fmt.Sprint("other", i), Size: 16 * bs, Src: &rampSource{seed: 8, size: 16 * bs}}
		if _, err := c.ReadAt(context.Background(), hot, make([]byte, 10), 0); err != nil { // keep block 0 hot
			t.Fatal(err)
		}
		if _, err := c.ReadAt(context.Background(), other, make([]byte, 16*bs), 0); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, c)
	if !c.Contains("hot", 0, 10, 8*bs) {
		t.Fatal("the hot block was evicted")
	}
	for idx := int64(1); idx < 8; idx++ {
		if c.Contains("hot", idx*bs, bs, 8*bs) {
			t.Fatalf("block %d of the hot block's fetch is still resident", idx)
		}
	}
	c.mu.Lock()
	blocks := c.lru.Len()
	c.mu.Unlock()
	if blocks != budget/bs { // the hot block is charged its own bytes only
		t.Errorf("%d blocks resident, want %d (the budget in blocks)", blocks, budget/bs)
	}
	if n := arenaResident(t, c.arena); n > budget {
		t.Errorf("arena files hold %d bytes with a hot block, want at most the budget %d", n, budget)
	}
}
