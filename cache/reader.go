package cache

import (
	"context"
	"sync"
)

const (
	// seqSlack is how far from the furthest end read so far a read may
	// start and still count as sequential (the kernel reorders its
	// parallel 128 KiB reads).
	seqSlack = 1 << 20
)

// Reader is the per-open-handle view of an object: it detects sequential
// reads and prefetches. It is safe for concurrent use (the kernel issues
// several reads of one handle at once).
type Reader struct {
	// Read only after NewReader.
	c   *Cache
	obj Object

	// mu protects the fields below. Lock order: mu before Cache.mu.
	mu      sync.Mutex
	closed  bool
	seen    bool       // a read happened: lastEnd is valid
	lastEnd int64      // furthest end of the current sequential streak
	start   int64      // where the current streak began
	window  int64      // size of the last window scheduled; 0 when not streaming
	next    int64      // end of the read-ahead scheduled so far (a block boundary or the size)
	pending []prefetch // chunks waiting for a slot, in offset order
	running int        // chunks of this reader whose fetches are in flight
}

// prefetch is one chunk of read-ahead: blocks [first, last].
type prefetch struct{ first, last int64 }

// NewReader returns a Reader of obj. Close it when the handle is released.
func (c *Cache) NewReader(obj Object) *Reader {
	return &Reader{c: c, obj: obj}
}

// ReadAt reads from the object like Cache.ReadAt (same contract), and
// schedules read-ahead while reads are sequential. Prefetches never depend
// on ctx: cancelling it only makes this call return.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	mode := foreground
	if r.streaming() {
		mode = streaming
	}
	return r.c.read(ctx, r.obj, p, off, mode, r.advance)
}

// streaming reports whether reads are sequential and prefetched.
func (r *Reader) streaming() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.window > 0
}

// Close stops scheduling prefetches and drops the queued ones; fetches
// already running finish and fill the cache. The Reader still reads
// (without read-ahead) after Close.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.pending = nil
}

// advance updates the sequential detection with the read [off, end) and
// schedules read-ahead.
func (r *Reader) advance(off, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if !r.seen || off < r.lastEnd-seqSlack || off > r.lastEnd+seqSlack {
		// First read, or a jump: the streak starts again, and the chunks
		// of the old window that have not started are not wanted.
		r.seen = true
		r.start = off
		r.lastEnd = end
		r.window = 0
		r.next = 0
		r.pending = nil
		return
	}
	r.lastEnd = max(r.lastEnd, end)
	c := r.c
	switch {
	case r.window == 0 && r.lastEnd-r.start < c.minStreak:
		return // not streaming yet
	case r.window == 0:
		r.window = c.firstWindow
		r.next = r.lastEnd / c.blockSize * c.blockSize
	case r.lastEnd > r.next:
		// The reader got ahead of the read-ahead (it skipped forward):
		// go on from where it is, with the same window.
		r.next = r.lastEnd / c.blockSize * c.blockSize
	case r.lastEnd >= r.next-r.window/2:
		// In the second half of the last window: the next one, larger.
		r.window = min(2*r.window, c.maxWindow)
	default:
		return
	}
	r.schedule(r.window)
}

// schedule queues the read-ahead of n bytes from r.next, in chunks, and
// starts what the parallelism allows. r.mu must be held.
func (r *Reader) schedule(n int64) {
	c := r.c
	start := r.next
	end := min(start+n, r.obj.Size)
	if start >= end {
		return
	}
	r.next = end
	for off := start; off < end; off += c.chunk {
		r.pending = append(r.pending, prefetch{off / c.blockSize, (min(off+c.chunk, end) - 1) / c.blockSize})
	}
	r.pump()
}

// pump starts queued chunks while fewer than c.parallel are in flight. A
// chunk whose blocks are all resident takes no slot. r.mu must be held.
func (r *Reader) pump() {
	c := r.c
	for !r.closed && r.running < c.parallel && len(r.pending) > 0 {
		ch := r.pending[0]
		r.pending = r.pending[1:]
		slots := c.plan(context.Background(), r.obj, ch.first, ch.last, prefetching)
		var runs []*run
		for _, s := range slots {
			if s.r != nil && (len(runs) == 0 || runs[len(runs)-1] != s.r) {
				runs = append(runs, s.r)
			}
		}
		if len(runs) == 0 {
			continue
		}
		r.running++
		go r.wait(runs)
	}
	if len(r.pending) == 0 {
		r.pending = nil // let the array go
	}
}

// wait waits for the fetches of one chunk, then frees its slot.
func (r *Reader) wait(runs []*run) {
	for _, rn := range runs {
		<-rn.done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running--
	r.pump()
}
