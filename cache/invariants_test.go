package cache

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// checkInvariants checks the cache's accounting under c.mu: the bytes
// charged are the sum of the charges of the resident blocks (arena buffers
// by block, heap buffers whole while any of their blocks is resident) and
// within the budget, every buffer's refs count its resident blocks, no pin
// count is negative, every block in flight lies in its run, and the disk
// index adds up to the disk bytes, with a file of the indexed size for every
// entry while the tier is open.
func (c *Cache) checkInvariants() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	refs := map[*buffer]int{}
	var charged int64
	for _, k := range c.lru.Keys() {
		e, _ := c.lru.Peek(k)
		b := e.buf
		if b == nil {
			errs = append(errs, fmt.Errorf("block %d of %q has no buffer", k.idx, k.key))
			continue
		}
		switch {
		case b.perBlock:
			charged += int64(len(e.data))
		case refs[b] == 0:
			charged += b.size
		}
		refs[b]++
		if len(e.data) == 0 || int64(len(e.data)) > c.blockSize {
			errs = append(errs, fmt.Errorf("block %d of %q holds %d bytes", k.idx, k.key, len(e.data)))
		}
	}
	if charged != c.bytes {
		errs = append(errs, fmt.Errorf("bytes = %d, sum of charges = %d", c.bytes, charged))
	}
	if c.bytes > c.memory || c.bytes < 0 {
		errs = append(errs, fmt.Errorf("bytes = %d, budget %d", c.bytes, c.memory))
	}
	for b, n := range refs {
		if b.refs != n {
			errs = append(errs, fmt.Errorf("buffer of %d bytes: refs = %d, resident blocks = %d", b.size, b.refs, n))
		}
		if b.pins < 0 {
			errs = append(errs, fmt.Errorf("buffer of %d bytes: pins = %d", b.size, b.pins))
		}
	}
	for k, r := range c.inflight {
		if k.idx < r.first || k.idx >= r.first+r.nblocks {
			errs = append(errs, fmt.Errorf("block %d in flight in run [%d, %d)", k.idx, r.first, r.first+r.nblocks))
		}
		if r.mem == nil || r.mem.pins < 0 {
			errs = append(errs, fmt.Errorf("run [%d, %d) in flight with a bad pin count", r.first, r.first+r.nblocks))
		}
	}
	if d := c.disk; d != nil {
		var sum int64
		for _, k := range d.idx.Keys() {
			size, _ := d.idx.Peek(k)
			sum += size
			if d.closed {
				continue // DiskDir may belong to another cache now
			}
			// Files are written before they are indexed and removed
			// after they leave the index (both outside c.mu).
			info, err := os.Stat(d.path(k))
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("disk index: block %d: %w", k.idx, err))
			case info.Size() != size:
				errs = append(errs, fmt.Errorf("disk index: block %d file is %d bytes, indexed as %d", k.idx, info.Size(), size))
			}
		}
		if sum != d.bytes {
			errs = append(errs, fmt.Errorf("disk bytes = %d, sum of the index = %d", d.bytes, sum))
		}
	}
	return errors.Join(errs...)
}

// checkAtEnd checks c's invariants when the test ends.
func checkAtEnd(t testing.TB, c *Cache) {
	t.Helper()
	t.Cleanup(func() {
		if err := c.checkInvariants(); err != nil {
			t.Errorf("cache invariants: %v", err)
		}
	})
}

// TestCheckInvariantsCatches breaks each piece of accounting in turn and
// expects the checker to say so (and to pass once it is repaired).
func TestCheckInvariantsCatches(t *testing.T) {
	const bs = 100
	c := newCache(t, Options{Memory: 1000, BlockSize: bs, HeapMemory: true})
	src := &rampSource{seed: 1, size: 1000}
	if _, err := c.ReadAt(t.Context(), Object{Key: "k", Size: 1000, Src: src}, make([]byte, 300), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.checkInvariants(); err != nil {
		t.Fatalf("healthy cache: %v", err)
	}
	e, ok := c.lru.Peek(blockKey{"k", 0})
	if !ok {
		t.Fatal("block 0 not resident")
	}
	tests := []struct {
		name   string
		damage func() (undo func())
	}{
		{"bytes", func() func() { c.bytes += 7; return func() { c.bytes -= 7 } }},
		{"refs", func() func() { e.buf.refs++; return func() { e.buf.refs-- } }},
		{"pins", func() func() { e.buf.pins--; return func() { e.buf.pins++ } }},
	}
	for _, tt := range tests {
		undo := tt.damage()
		if err := c.checkInvariants(); err == nil {
			t.Errorf("%s broken: no error", tt.name)
		}
		undo()
		if err := c.checkInvariants(); err != nil {
			t.Errorf("%s repaired: %v", tt.name, err)
		}
	}
}
