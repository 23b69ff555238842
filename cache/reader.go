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
	// tileSlack is how far past the end of a tile a reader may read: C
	// stdio (GDAL on a local file) reads through an aligned buffer of 8 KiB
	// (glibc's BUFSIZ, or st_blksize when smaller), so its last buffer of a
	// tile reaches into the next.
	tileSlack = 8 << 10
	// tileGap is how far into the bytes between two tiles an offset is
	// still next to the first: GDAL writes a 4-byte leader before and a
	// 4-byte trailer after each tile.
	tileGap = 8
	// firstRowTiles is how many tiles the first read of a row of tiles
	// fetches, that one included (and how many of the row below it
	// prefetches): a window a few tiles wide is then one request per row.
	firstRowTiles = 3
	// pointReadsToStop is how many rows in a row of one tile each (point
	// reads) an object must see before new rows fetch just their tile.
	pointReadsToStop = 2
	// pointRowsToStop is the same across objects: after that many rows in
	// a row, of any objects, read one tile each (sampling a point through
	// many scenes), a new row of any object fetches just its tile, until
	// a row of two tiles or more is read.
	pointRowsToStop = 3
)

// Tile is one tile of a tiled image file: its image (0 is the full
// resolution, then overviews and masks, in file order), its row and column,
// and its bytes [Start, End).
type Tile struct {
	Image, Row, Col int
	Start, End      int64
}

// Tiling is the tile layout of an object (Options.Tiling reads it).
type Tiling interface {
	// TileAt returns the tile whose bytes hold offset off.
	TileAt(off int64) (Tile, bool)
	// Tile returns the tile at (row, col) of image img.
	Tile(img, row, col int) (Tile, bool)
	// First returns the tile stored first in the file.
	First() (Tile, bool)
}

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
// # Tiles
//
// When the object has a tile layout (Options.Tiling) and a read outside a
// streaming window falls in tile data, the Reader plans in whole tiles,
// like GDAL's /vsicurl/ does, since a tile is always read whole:
//
//   - A read that starts a row of tiles (any read that is not in the row
//     being read) is extended to the end of its tile and of the next two
//     tiles of the row, in the same request, and the same tiles of the two
//     rows below are prefetched (one request each): a window or a
//     full-image read reads several tiles of a row, and several rows, and
//     a window's third row is then on its way while the first is decoded.
//     (A row started as a point read that turns out wider prefetches them
//     when the reader moves into its second tile.) When the reader moves
//     into the last tile fetched of the row, the next tile is prefetched
//     (one request of one tile). An object whose last two such rows were
//     read one tile each (point reads, e.g. sampling) fetches just the tile
//     at the start of a row, until a row of several tiles is read again;
//     so does every object once the last three such rows of any objects
//     were (a point sampled through many scenes). A row of an image one
//     tile wide counts for neither.
//   - A read that starts the row below at the same column as the last row
//     began is extended to the whole width of the last row, in one request:
//     the rows of a window have one width. The row below that one is
//     prefetched too (one request), so that a window is fetched one row
//     ahead of its reader. The tiles of a prediction are not followed by a
//     prefetch to their right (the window ends there).
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
}

// tileRow is a row of tiles being read by a Reader.
type tileRow struct {
	ok        bool
	img, row  int
	c0, c1    int  // first and last column read so far
	fetched   int  // last column fetched (or being fetched)
	predicted bool // fetched is the width of the row above, not a guess
	point     bool // started as a point read: no tile but this one fetched
	below     bool // the row below was prefetched
	twoBelow  bool // the row after the row below was prefetched
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
	if (r.start == 0 && gapless && r.read >= wholeFileStart && !r.headerAndFirstTile()) || r.read >= c.minStreak {
		r.window = c.firstWindow
		r.next = r.lastEnd / c.blockSize * c.blockSize
		r.schedule(r.window)
		return streaming, end, nil
	}
	return foreground, fetchEnd, specs
}

// headerAndFirstTile reports whether a streak from offset 0 has read no
// further than the first tile of the file (and its mask's tile, and what a
// buffered reader reads past them). That is a COG reader, not a copy: GDAL
// stores the smallest overview right after the header, as one tile, and a
// thumbnail reads the header and then that tile whole, gapless from byte 0
// and often more than 256 KiB. r.mu must be held.
func (r *Reader) headerAndFirstTile() bool {
	if r.tiling == nil {
		return false
	}
	first, ok := r.tiling.First()
	if !ok {
		return false
	}
	end := first.End
	// GDAL writes a mask's tile right after its image's tile.
	if m, ok := r.tiling.TileAt(first.End + tileGap); ok && m.Image != first.Image && m.Start >= first.End {
		end = m.End
	}
	return r.lastEnd <= end+tileSlack
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

// tiles plans the read [off, end) in whole tiles (see Reader). It returns
// how far to fetch with the read, the blocks of tiles to prefetch, and
// whether the read starts a new row of tiles. r.mu must be held.
func (r *Reader) tiles(off, end int64) (fetchEnd int64, specs []prefetch, newRow bool) {
	if r.tiling == nil {
		if r.tiling = r.c.tilingOf(r.obj); r.tiling == nil {
			return end, nil, false
		}
	}
	tl := r.tiling
	row := &r.row
	if t, ok := tl.TileAt(off); ok && row.ok && t.Image == row.img && t.Row == row.row &&
		t.Col >= row.c0 && t.Col <= row.fetched+1 {
		// On along the row.
		row.c1 = max(row.c1, t.Col)
		fetchEnd = end
		if !row.predicted && !row.twoBelow && t.Col == row.c0+1 {
			// Into the second tile of the first row: a window, two or
			// more tiles wide. The row below (unless prefetched with
			// the first tile) and the one after it, as far as this
			// row was fetched: a window's next rows are read one
			// after the other, and the second is not waited for.
			// Its own row-ahead (reading the row below) would fetch
			// the row after it anyway.
			row.twoBelow = true
			first := t.Row + 2
			if !row.below {
				// A row started as a point read: a window after all.
				row.below = true
				first = t.Row + 1
			}
			for below := first; below <= t.Row+2; below++ {
				if start, end, _, ok := rowSpan(tl, t.Image, below, row.c0, row.fetched); ok {
					specs = append(specs, r.blocks(start, end+tileSlack))
				}
			}
		}
		switch {
		case t.Col < row.fetched || (t.Col == row.fetched && (row.predicted || row.point)):
			// Fetched already; a point read gets no neighbour.
		case t.Col == row.fetched:
			// Into the last tile fetched: prefetch the next one.
			if next, ok := tl.Tile(t.Image, t.Row, t.Col+1); ok {
				row.fetched = t.Col + 1
				specs = append(specs, r.blocks(next.Start, next.End+tileSlack))
			}
		default:
			// Past what was fetched (a row wider than predicted, or a
			// point read that goes on): this tile whole, and the next.
			row.predicted, row.point = false, false
			row.fetched = t.Col
			fetchEnd = max(end, t.End+tileSlack)
			if next, ok := tl.Tile(t.Image, t.Row, t.Col+1); ok {
				row.fetched = t.Col + 1
				specs = append(specs, r.blocks(next.Start, next.End+tileSlack))
			}
		}
		return fetchEnd, specs, false
	}

	// A new row, when the read starts in tile data (a read in the header
	// may reach into the first tile of the file without wanting it): the
	// tile the read reaches into, since a buffered reader's first read of
	// a tile starts a little before it.
	if _, ok := tl.TileAt(off); !ok {
		return end, nil, false
	}
	t, ok := tl.TileAt(end - 1)
	if !ok {
		t, _ = tl.TileAt(off)
	}
	prev := *row
	r.endRow(prev)
	*row = tileRow{ok: true, img: t.Image, row: t.Row, c0: t.Col, c1: t.Col, fetched: t.Col}
	width := 0 // columns past the first to fetch
	switch {
	case prev.ok && prev.img == t.Image && prev.row+1 == t.Row && prev.c0 == t.Col:
		// The row below the last one, from the same column: as wide.
		// And the row below it too, as the window goes on down.
		row.predicted = true
		width = prev.c1 - prev.c0
	case r.pointMode():
		row.point = true // just this tile
	default:
		// The first row of a window, most likely: this tile and the next
		// ones, and the same tiles of the two rows below, so that the
		// window's third row is on its way while the first is decoded.
		width = firstRowTiles - 1
		row.below, row.twoBelow = true, true
	}
	if !row.point {
		last := t.Row + 1
		if row.twoBelow {
			last = t.Row + 2
		}
		for below := t.Row + 1; below <= last; below++ {
			if start, end, _, ok := rowSpan(tl, t.Image, below, t.Col, t.Col+width); ok {
				specs = append(specs, r.blocks(start, end+tileSlack))
			}
		}
	}
	_, rowEnd, lastCol, _ := rowSpan(tl, t.Image, t.Row, t.Col, t.Col+width)
	row.fetched = lastCol
	return max(end, rowEnd+tileSlack), specs, true
}

// pointMode reports whether a new row should fetch just its tile: the
// object, or the last objects read, were read one tile per row.
func (r *Reader) pointMode() bool {
	object, all := r.c.pointReads(r.obj.Key)
	return object >= pointReadsToStop || all >= pointRowsToStop
}

// endRow records how a row of tiles that was not predicted ended: a reader
// that read one tile of it (a point read) counts against speculating on the
// object, and on new objects. A row of an image one tile wide tells
// nothing. r.mu must be held.
func (r *Reader) endRow(row tileRow) {
	if !row.ok || row.predicted {
		return
	}
	if row.c1 == row.c0 {
		_, left := r.tiling.Tile(row.img, row.row, row.c0-1)
		_, right := r.tiling.Tile(row.img, row.row, row.c0+1)
		if !left && !right {
			return
		}
	}
	r.c.notePointRead(r.obj.Key, row.c1 == row.c0)
}

// rowSpan returns the bytes of tiles [c0, c1] of a row, or of as many of
// them from c0 on as exist and are stored in order, in one piece, and the
// last column it covers; ok is false when tile c0 does not exist.
func rowSpan(tl Tiling, img, row, c0, c1 int) (start, end int64, lastCol int, ok bool) {
	first, ok := tl.Tile(img, row, c0)
	if !ok {
		return 0, 0, 0, false
	}
	last, lastCol := first, c0
	for col := c0 + 1; col <= c1; col++ {
		nt, ok := tl.Tile(img, row, col)
		if !ok || nt.Start < last.End || nt.Start > last.End+tileSlack {
			break
		}
		last, lastCol = nt, col
	}
	return first.Start, last.End, lastCol, true
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
