package cache

import (
	"context"
	"sync"
)

const (
	// seqBehind is how far behind the furthest end read so far a read may
	// start and still count as sequential: one large read is cut into
	// parallel 1 MiB requests that may arrive in any order.
	seqBehind = 4 << 20
	// seqAhead is how far past that end a read may start and still count
	// as sequential (pieces arriving early, a reader that skips a little).
	seqAhead = 4 << 20
	// wholeFileStart is how much a streak that starts at offset 0 reads
	// before read-ahead starts: a reader going through a file from its
	// first byte (cp, cat, sha256sum) is a copy, while a COG reader reads
	// only a few KiB of header there and then jumps to tiles.
	wholeFileStart = 256 << 10
)

// Reader is the per-open-handle view of an object: it plans fetches from
// the pattern of the handle's reads. It is safe for concurrent use (the
// kernel may issue several reads of one handle at once).
//
// # Sequential reads
//
// A read that starts within 4 MiB of the furthest end read so far (either
// side: a large read arrives as parallel 1 MiB pieces in any order)
// continues a streak. Once a streak from offset 0 has read 256 KiB with no
// byte skipped (and, in a tiled object, gone past the file's first tile and
// its mask's: GDAL reads the header and then the smallest overview, one
// tile right after it, with no gap either), or any streak has read
// Options.ReadAheadStart bytes (bytes read, not spanned: a reader skipping
// forward through a file reads little),
// the Reader prefetches a window past the streak's end:
// Options.ReadAheadFirst first, doubling
// each time the reader crosses into the second half of the last window, up
// to Options.MaxReadAhead (never more than a quarter of Options.Memory),
// fetched as chunks of Options.ReadAheadChunk, at most
// Options.ReadAheadParallel in flight. A jump resets the window and drops
// the chunks not started.
//
// A read outside a streaming window of an object with a tile layout
// (Options.Tiling) is planned in whole tiles and rows of tiles (see tileRow
// in tiles.go).
//
// Every fetch runs detached from the reader's context: a cancelled reader
// never cancels a fetch that others wait on.
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
	read    int64      // bytes read in the current streak
	window  int64      // size of the last window scheduled; 0 when not streaming
	next    int64      // end of the read-ahead scheduled so far (a block boundary or the size)
	pending []prefetch // chunks waiting for a slot, in offset order
	running int        // chunks of this reader whose fetches are in flight

	tiling Tiling  // nil until known, or when the object is not tiled
	row    tileRow // the row of tiles being read

	// Windows learned across objects (tiles_learned.go).
	shape        string          // the tile geometry, "" until the layout is known
	touched      map[tileID]bool // tiles read
	noLearn      bool            // streamed, or read too many tiles: tells nothing
	follow       map[tileID]bool // the learned window, fetched ahead; nil: none
	lastFollowed tileID          // the tile of the window read last
}

// prefetch is one chunk of read-ahead: blocks [first, last].
type prefetch struct{ first, last int64 }

// NewReader returns a Reader of obj. Close it when the handle is released.
func (c *Cache) NewReader(obj Object) *Reader {
	return &Reader{c: c, obj: obj}
}

// ReadAt reads from the object like Cache.ReadAt (same contract), and plans
// read-ahead and whole-tile fetches from the pattern of reads. Prefetches
// never depend on ctx: cancelling it only makes this call return.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	_, n, _, err := r.readPlanned(ctx, p, off, false)
	return n, err
}

// ReadView is ReadAt returning the bytes read: a slice of the cache's own
// memory when they lie in one buffer (no copy; it must not be written),
// else p[:n]. The bytes stay valid until release is called, which must be
// done once (release is never nil, also on error). Errors are ReadAt's.
func (r *Reader) ReadView(ctx context.Context, p []byte, off int64) (b []byte, release func(), err error) {
	b, _, release, err = r.readPlanned(ctx, p, off, true)
	return b, release, err
}

// readPlanned plans the read [off, off+len(p)) from the handle's pattern and does
// it (see Cache.readView for view).
func (r *Reader) readPlanned(ctx context.Context, p []byte, off int64, view bool) ([]byte, int, func(), error) {
	end := min(off+int64(len(p)), r.obj.Size)
	if off < 0 || off >= end {
		return r.c.readView(ctx, r.obj, p, off, foreground, 0, nil, view)
	}
	mode, fetchEnd, specs := r.advance(off, end)
	return r.c.readView(ctx, r.obj, p, off, mode, fetchEnd, r.after(specs), view)
}

// after returns the hook run once a read's own fetch went out: read-ahead,
// then the tiles ahead.
func (r *Reader) after(specs []prefetch) func() {
	return func() {
		r.mu.Lock()
		r.pump()
		r.mu.Unlock()
		for _, sp := range specs {
			r.c.unpin(r.c.plan(context.Background(), r.obj, sp.first, sp.last, prefetching, -1))
		}
	}
}

// Close stops scheduling prefetches and drops the queued ones; fetches
// already running finish and fill the cache. The Reader still reads
// (without read-ahead) after Close.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.endRow(r.row)
		r.tellWindow()
	}
	r.closed = true
	r.pending = nil
}

// advance updates the streak and the tile row with the read [off, end) and
// queues read-ahead. It returns the mode of the read, how far to fetch with
// it (whole tiles), and the blocks of tiles to prefetch after it.
func (r *Reader) advance(off, end int64) (mode planMode, fetchEnd int64, specs []prefetch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return foreground, end, nil
	}
	c := r.c
	jump := !r.seen || off < r.lastEnd-seqBehind || off > r.lastEnd+seqAhead
	if !jump && r.window > 0 {
		r.lastEnd = max(r.lastEnd, end)
		r.stream()
		return streaming, end, nil
	}
	fetchEnd, specs, newRow := r.tiles(off, end)
	if jump || (newRow && off != r.lastEnd) {
		// First read, a jump, or the first read of a row of tiles: the
		// streak starts again, and the chunks of the old window that
		// have not started are not wanted.
		r.seen = true
		r.start = off
		r.read = end - off
		r.lastEnd = end
		r.window = 0
		r.next = 0
		r.pending = nil
		return foreground, fetchEnd, specs
	}
	// On with the streak. Its start moves back for the pieces of one large
	// read that arrive after later ones.
	r.start = min(r.start, off)
	r.read += end - off
	r.lastEnd = max(r.lastEnd, end)
	gapless := r.read >= r.lastEnd-r.start
	if c.noReadAhead {
		return foreground, fetchEnd, specs
	}
	if (r.start == 0 && gapless && r.read >= wholeFileStart && !r.headerAndFirstTile()) || r.read >= c.minStreak {
		r.window = c.firstWindow
		r.noLearn, r.touched = true, nil // a copy, not a window
		r.next = r.lastEnd / c.blockSize * c.blockSize
		r.schedule(r.window)
		return streaming, end, nil
	}
	return foreground, fetchEnd, specs
}

// stream moves the read-ahead window on. r.mu must be held.
func (r *Reader) stream() {
	c := r.c
	switch {
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

// blocks returns the blocks of the bytes [start, end) of the object.
func (r *Reader) blocks(start, end int64) prefetch {
	end = min(end, r.obj.Size)
	if start >= end {
		return prefetch{0, -1}
	}
	return prefetch{start / r.c.blockSize, (end - 1) / r.c.blockSize}
}

// schedule queues the read-ahead of n bytes from r.next, in chunks; pump
// starts them. r.mu must be held.
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
}

// pump starts queued chunks while fewer than c.parallel are in flight. A
// chunk whose blocks are all resident takes no slot. r.mu must be held.
func (r *Reader) pump() {
	c := r.c
	for !r.closed && r.running < c.parallel && len(r.pending) > 0 {
		ch := r.pending[0]
		r.pending = r.pending[1:]
		slots := c.plan(context.Background(), r.obj, ch.first, ch.last, prefetching, -1)
		c.unpin(slots) // waits for the runs, not their bytes
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
