package cache

import (
	"errors"
	"fmt"
	"io"
)

const (
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
	// Grid returns how many tiles image img has across and down; ok is
	// false past the last image.
	Grid(img int) (across, down int, ok bool)
}

// maxTilings is how many object layouts the cache remembers.
const maxTilings = 1024

// errNotResident is what the resident reader given to Options.Tiling fails
// with for a byte that is not in memory.
var errNotResident = errors.New("cache: bytes not resident")

// tilingOf returns obj's tile layout: remembered, or read now from its
// resident blocks. It is nil when the object is not tiled, or when the bytes
// that would tell are not resident yet (then the next call tries again).
func (c *Cache) tilingOf(obj Object) Tiling {
	if c.parseTiling == nil {
		return nil
	}
	c.mu.Lock()
	t, ok := c.tilings.Get(obj.Key)
	c.mu.Unlock()
	if ok {
		return t
	}
	t, err := c.parseTiling(residentReader{c, obj}, obj.Size)
	if errors.Is(err, errNotResident) {
		return nil
	}
	if err != nil {
		c.log.Debug("no tile layout", "err", err)
		t = nil
	}
	c.mu.Lock()
	c.tilings.Add(obj.Key, t)
	c.mu.Unlock()
	return t
}

// pointReads returns how many rows of tiles of the object, in a row, were
// read one tile each, and how many rows of any object were, in a row.
func (c *Cache) pointReads(key string) (object, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, _ := c.points.Get(key)
	return n, c.pointRows
}

// notePointRead records how a row of tiles of the object that was not
// predicted ended: with one tile read (single) or more.
func (c *Cache) notePointRead(key string, single bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !single {
		c.points.Remove(key)
		c.pointRows = 0
		return
	}
	n, _ := c.points.Get(key)
	c.points.Add(key, n+1)
	c.pointRows = min(c.pointRows+1, 1<<20)
}

// residentReader reads the resident blocks of an object, and fails with
// errNotResident for any other byte. It changes no recency or counter.
type residentReader struct {
	c   *Cache
	obj Object
}

// ReadAt implements io.ReaderAt.
func (r residentReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > r.obj.Size {
		return 0, fmt.Errorf("cache: read %d bytes at %d of a %d-byte object: %w", len(p), off, r.obj.Size, io.ErrUnexpectedEOF)
	}
	c := r.c
	bs := c.blockSize
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		at := off + int64(n)
		e, ok := c.lru.Peek(blockKey{r.obj.Key, at / bs})
		if !ok {
			return n, errNotResident
		}
		data := e.data
		lo := at % bs
		if lo >= int64(len(data)) {
			return n, errNotResident
		}
		n += copy(p[n:], data[lo:])
	}
	return n, nil
}

// tileRow is a row of tiles being read by a Reader.
//
// When the object has a tile layout (Options.Tiling) and a read outside a
// streaming window falls in tile data, the Reader plans in whole tiles,
// like GDAL's /vsicurl/ does, since a tile is always read whole. Tiles of
// a window that objects of the same tile grids read before are fetched at
// once (see tiles_learned.go); otherwise the Reader guesses the window
// from the reads, row by row:
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
//   - Every such guess (tiles no read has reached yet) costs at most
//     1/guessShare of the object (any guess goes in an object of
//     cheapObject bytes or less): the 3×3 guess of a first row shrinks to
//     2×2 or to the tile alone, and a tile or row ahead that costs more is
//     not prefetched. In a big file a wrong guess is a small share of it,
//     and a right one saves a round trip per row; a small file (a 2048 px
//     scene of 4×4 tiles) is mostly read in windows of one or two tiles a
//     row (a time series at a point), where the guess is the bytes the
//     reader needs two or three times over.
type tileRow struct {
	ok        bool
	img, row  int
	c0, c1    int  // first and last column read so far
	fetched   int  // last column fetched (or being fetched)
	predicted bool // fetched is the width of the row above, not a guess
	point     bool // started as a point read: no tile but this one fetched
	ahead     int  // rows below prefetched (0 to firstRowTiles-1)
	widened   bool // the reader moved into the second tile of the row
}

const (
	// guessShare: a guess of the tile planning costs at most
	// 1/guessShare of the object's bytes (see tileRow)...
	guessShare = 32
	// cheapObject: ...unless the object is this small: then it costs
	// about a round trip whole (a bandwidth-delay product of a 50 MB/s,
	// 40 ms link), and a guess always less than the round trip it may
	// save.
	cheapObject = 2 << 20
)

// affordable reports whether a guess of n bytes is cheap enough for the
// object (see tileRow).
func (r *Reader) affordable(n int64) bool {
	return r.obj.Size <= cheapObject || n <= r.obj.Size/guessShare
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

// tiles plans the read [off, end) in whole tiles (see Reader). It returns
// how far to fetch with the read, the blocks of tiles to prefetch, and
// whether the read starts a new row of tiles. r.mu must be held.
func (r *Reader) tiles(off, end int64) (fetchEnd int64, specs []prefetch, newRow bool) {
	var window []byteRun
	if r.tiling == nil {
		if r.tiling = r.c.tilingOf(r.obj); r.tiling == nil {
			return end, nil, false
		}
		window = r.recall()
	}
	r.touch(off, end)
	if t, ok := r.followedTile(off, end); ok {
		// A tile of the learned window: fetched with it.
		fetchEnd, specs = r.fetchWindow(window, off, end)
		id := tileID{t.Image, t.Row, t.Col}
		newRow = id != r.lastFollowed
		r.lastFollowed = id
		return fetchEnd, specs, newRow
	}
	fetchEnd, specs, newRow = r.planRow(off, end)
	if window != nil {
		_, more := r.fetchWindow(window, off, end)
		specs = append(specs, more...)
	}
	return fetchEnd, specs, newRow
}

// planRow is tiles for a read that no learned window covers: the guess
// row by row (see tileRow). r.mu must be held.
func (r *Reader) planRow(off, end int64) (fetchEnd int64, specs []prefetch, newRow bool) {
	tl := r.tiling
	row := &r.row
	if t, ok := tl.TileAt(off); ok && row.ok && t.Image == row.img && t.Row == row.row &&
		t.Col >= row.c0 && t.Col <= row.fetched+1 {
		// On along the row.
		row.c1 = max(row.c1, t.Col)
		fetchEnd = end
		if !row.predicted && !row.widened && t.Col == row.c0+1 {
			// Into the second tile of the first row: a window, two or
			// more tiles wide. The rows below not prefetched with the
			// first tile (two at most), as far as this row was
			// fetched: a window's next rows are read one after the
			// other, and the second is not waited for. Its own
			// row-ahead (reading the row below) would fetch the row
			// after it anyway.
			row.widened = true
			for below := t.Row + 1 + row.ahead; below < t.Row+firstRowTiles; below++ {
				start, end, _, ok := rowSpan(tl, t.Image, below, row.c0, row.fetched)
				if !ok || !r.affordable(end-start) {
					break
				}
				specs = append(specs, r.blocks(start, end+tileSlack))
				row.ahead++
			}
		}
		switch {
		case t.Col < row.fetched || (t.Col == row.fetched && (row.predicted || row.point)):
			// Fetched already; a point read gets no neighbour.
		case t.Col == row.fetched:
			// Into the last tile fetched: prefetch the next one.
			if next, ok := tl.Tile(t.Image, t.Row, t.Col+1); ok && r.affordable(next.End-next.Start) {
				row.fetched = t.Col + 1
				specs = append(specs, r.blocks(next.Start, next.End+tileSlack))
			}
		default:
			// Past what was fetched (a row wider than predicted, or a
			// point read that goes on): this tile whole, and the next.
			row.predicted, row.point = false, false
			row.fetched = t.Col
			fetchEnd = max(end, t.End+tileSlack)
			if next, ok := tl.Tile(t.Image, t.Row, t.Col+1); ok && r.affordable(next.End-next.Start) {
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
	width, below := 0, 0 // columns past the first to fetch, rows below to prefetch
	switch {
	case prev.ok && prev.img == t.Image && prev.row+1 == t.Row && prev.c0 == t.Col:
		// The row below the last one, from the same column: as wide.
		// And the row below it too, as the window goes on down.
		row.predicted = true
		width, below = prev.c1-prev.c0, 1
	case r.pointMode():
		row.point = true // just this tile
	default:
		// The first row of a window, most likely: this tile and the next
		// ones, and the same tiles of the two rows below, so that the
		// window's third row is on its way while the first is decoded;
		// a smaller square when the object cannot afford that guess.
		width = firstRowTiles - 1
		for width > 0 && !r.affordable(int64((width+1)*(width+1)-1)*(t.End-t.Start)) {
			width--
		}
		below = width
		row.ahead = width
	}
	for b := t.Row + 1; b <= t.Row+below; b++ {
		start, end, _, ok := rowSpan(tl, t.Image, b, t.Col, t.Col+width)
		if !ok || (row.predicted && !r.affordable(end-start)) {
			break
		}
		specs = append(specs, r.blocks(start, end+tileSlack))
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
