package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"testing"
)

// grid is a fake tile layout laid out like a COG: a 16 KiB header, then the
// images smallest first, each row-major, every tile between 200 and 320 KiB
// with 8 bytes (GDAL's leader and trailer) between tiles.
type grid struct {
	across, down []int
	tiles        [][]Tile // per image, row-major
	byOff        []Tile
	size         int64
}

func newGrid(dims ...[2]int) *grid { return newGridOf(200<<10, 120<<10, dims...) }

// newGridOf is newGrid with tiles of lo to lo+spread bytes.
func newGridOf(lo, spread int64, dims ...[2]int) *grid {
	g := &grid{}
	off := int64(16 << 10)
	seed := uint32(7)
	g.tiles = make([][]Tile, len(dims))
	for i := len(dims) - 1; i >= 0; i-- { // smallest (last) image first in the file
		for r := range dims[i][1] {
			for c := range dims[i][0] {
				seed = seed*1664525 + 1013904223
				n := lo + int64(seed>>8)%spread
				off += 4 // leader
				t := Tile{Image: i, Row: r, Col: c, Start: off, End: off + n}
				g.tiles[i] = append(g.tiles[i], t)
				g.byOff = append(g.byOff, t)
				off += n + 4 // trailer
			}
		}
	}
	for _, d := range dims {
		g.across = append(g.across, d[0])
		g.down = append(g.down, d[1])
	}
	sort.Slice(g.byOff, func(i, j int) bool { return g.byOff[i].Start < g.byOff[j].Start })
	g.size = off + 1000
	return g
}

// bigGrid is laid out like a 10980 px Sentinel-2 band in 512 px tiles (and
// its overviews, the last 2x2): big enough for the row planning's full 3x3
// guess (see guessShare).
func bigGrid() *grid {
	return newGrid([2]int{22, 22}, [2]int{11, 11}, [2]int{6, 6}, [2]int{3, 3}, [2]int{2, 2})
}

// sceneGrid is laid out like a 2048 px scene in 512 px tiles, overviews of
// 2x2 tiles and one tile: too small for the row planning to guess.
func sceneGrid() *grid { return newGrid([2]int{4, 4}, [2]int{2, 2}, [2]int{1, 1}) }

func (g *grid) TileAt(off int64) (Tile, bool) {
	i := sort.Search(len(g.byOff), func(i int) bool { return g.byOff[i].Start > off }) - 1
	if i < 0 || off >= g.byOff[i].End+16 {
		return Tile{}, false
	}
	return g.byOff[i], true
}

func (g *grid) First() (Tile, bool) {
	if len(g.byOff) == 0 {
		return Tile{}, false
	}
	return g.byOff[0], true
}

func (g *grid) Grid(img int) (across, down int, ok bool) {
	if img < 0 || img >= len(g.tiles) {
		return 0, 0, false
	}
	return g.across[img], g.down[img], true
}

func (g *grid) Tile(img, row, col int) (Tile, bool) {
	if img < 0 || img >= len(g.tiles) || row < 0 || row >= g.down[img] || col < 0 || col >= g.across[img] {
		return Tile{}, false
	}
	return g.tiles[img][row*g.across[img]+col], true
}

// stdio emulates C stdio reading a file with an 8 KiB buffer (glibc's
// BUFSIZ, used when st_blksize is larger): a seek outside the buffer reads
// the aligned 8 KiB block holding the target, a read larger than the buffer
// goes straight to the file in whole 8 KiB multiples, and the rest is read
// by refilling the buffer. This is the pattern GDAL makes on a local file.
type stdio struct {
	r      *Reader
	has    bool
	bufOff int64
	t      *testing.T
	src    *rampSource
}

const stdioBuf = 8 << 10

func (s *stdio) pread(off, n int64) {
	s.t.Helper()
	p := make([]byte, n)
	got, err := s.r.ReadAt(context.Background(), p, off)
	if err != nil && err != io.EOF {
		s.t.Fatalf("read %d at %d: %v", n, off, err)
	}
	want := make([]byte, got)
	fillRamp(want, s.src.seed, off)
	if !bytes.Equal(p[:got], want) {
		s.t.Fatalf("read %d at %d: wrong bytes", n, off)
	}
}

// read reads the bytes [start, end) as fseek + fread.
func (s *stdio) read(start, end int64) {
	if !s.has || start < s.bufOff || start >= s.bufOff+stdioBuf {
		s.bufOff = start &^ (stdioBuf - 1)
		s.has = true
		s.pread(s.bufOff, stdioBuf)
	}
	pos := min(end, s.bufOff+stdioBuf)
	if pos >= end {
		return
	}
	if want := end - pos; want >= stdioBuf {
		n := want - want%stdioBuf
		s.pread(pos, n)
		pos += n
	}
	if pos < end {
		s.bufOff = pos
		s.pread(pos, stdioBuf)
	}
}

// readTiles reads tiles [c0, c1] x [r0, r1] of image img row by row, as
// GDAL does.
func (s *stdio) readTiles(g *grid, img, c0, c1, r0, r1 int) (tiles int64) {
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			t, _ := g.Tile(img, r, c)
			s.read(t.Start, t.End)
			tiles += t.End - t.Start
		}
	}
	return tiles
}

// tiledCache returns a cache with 16 KiB blocks whose objects have the tile
// layout g.
func tiledCache(t *testing.T, g *grid) *Cache {
	t.Helper()
	c, err := New(Options{BlockSize: 16 << 10, Tiling: func(io.ReaderAt, int64) (Tiling, error) { return g, nil }})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	return c
}

// tiledReader returns a cache with the tile layout g, the source of one
// object "cog" laid out like g (bytes from seed), and a stdio reader on a
// handle of it, closed when the test ends.
func tiledReader(t *testing.T, g *grid, seed int) (*Cache, *rampSource, *stdio) {
	t.Helper()
	c := tiledCache(t, g)
	src := &rampSource{seed: seed, size: g.size}
	r := c.NewReader(Object{Key: "cog", Size: g.size, Src: src})
	t.Cleanup(r.Close)
	return c, src, &stdio{r: r, t: t, src: src}
}

// TestReaderTiles: with a tile layout, a window read through C stdio is
// fetched in whole tiles and predicted rows, in about as many requests as
// GDAL's /vsicurl/ makes (one per row), with few bytes beyond the tiles.
func TestReaderTiles(t *testing.T) {
	checkNoLeak(t)
	g := bigGrid()
	for _, tc := range []struct {
		name             string
		img, c0, c1      int
		r0, r1           int
		maxCalls         int
		maxExtraTiles    int // whole tiles fetched beyond those read
		wantNoExtraBytes bool
	}{
		// Row 1: its first three tiles and the same tiles of rows 2
		// and 3, then the one after (wasted) once the reader is in the
		// third; row 3: row 4 (wasted).
		{"3x3 window", 0, 3, 5, 2, 4, 5, 4, false},
		// A whole 3x3 overview (a thumbnail): a request per row.
		{"whole overview", 3, 0, 2, 0, 2, 3, 0, true},
		// A 2x2 window in the middle: three tiles (one wasted) and the
		// same tiles of the two rows below (one wasted, then the third
		// row, wasted).
		{"2x2 window", 1, 1, 2, 1, 2, 3, 4, false},
		// One tile: it and the next ones in its row (one here), and the
		// same below (the last row).
		{"one tile", 0, 20, 20, 20, 20, 2, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, src, s := tiledReader(t, g, 9)
			read := s.readTiles(g, tc.img, tc.c0, tc.c1, tc.r0, tc.r1)
			waitFor(t, "fetches to end", c.idle)
			calls := src.Calls()
			var fetched int64
			for _, sp := range calls {
				fetched += sp.End - sp.Off
			}
			if len(calls) > tc.maxCalls {
				t.Errorf("%d requests %v, want at most %d", len(calls), calls, tc.maxCalls)
			}
			// Each request may round out to blocks (16 KiB each side) and
			// reach 8 KiB past its last tile.
			slack := int64(len(calls)) * (2*16<<10 + 8<<10)
			maxTile := int64(320 << 10)
			if limit := read + int64(tc.maxExtraTiles)*maxTile + slack; fetched > limit {
				t.Errorf("fetched %d bytes for %d of tiles, want at most %d", fetched, read, limit)
			}
			if tc.wantNoExtraBytes && fetched > read+slack {
				t.Errorf("fetched %d bytes for %d of tiles: more than block rounding", fetched, read)
			}
		})
	}
}

// TestReaderTilesFirstRowAhead: the first read of a window's first row
// already asks for the same tiles of the two rows below, so that the third
// row is on its way while GDAL decodes the first (it reads the tiles of a
// window one after the other); nothing below that.
func TestReaderTilesFirstRowAhead(t *testing.T) {
	checkNoLeak(t)
	g := bigGrid()
	c, src, s := tiledReader(t, g, 19)
	first, _ := g.Tile(0, 2, 3)
	s.read(first.Start, first.Start+1) // the read that starts the row
	waitFor(t, "fetches to end", c.idle)
	covered := func(tl Tile) bool {
		for _, sp := range src.Calls() {
			if sp.Off <= tl.Start && tl.End <= sp.End {
				return true
			}
		}
		return false
	}
	for row := 2; row <= 5; row++ {
		for col := 3; col <= 6; col++ {
			tl, _ := g.Tile(0, row, col)
			if want := row <= 4 && col <= 5; covered(tl) != want {
				t.Errorf("tile (%d, %d) fetched %v, want %v; requests %v", row, col, covered(tl), want, src.Calls())
			}
		}
	}
	if n := len(src.Calls()); n != 3 {
		t.Errorf("%d requests %v, want 3 (a row each)", n, src.Calls())
	}
}

// TestReaderTilesWiderRow: a row wider than the one above (the prediction
// falls short) still reads right, fetching the rest tile by tile.
func TestReaderTilesWiderRow(t *testing.T) {
	checkNoLeak(t)
	g := bigGrid()
	c, src, s := tiledReader(t, g, 11)
	s.readTiles(g, 0, 1, 2, 0, 0) // a row of two
	s.readTiles(g, 0, 1, 5, 1, 1) // then one of five
	waitFor(t, "fetches to end", c.idle)
	if n := len(src.Calls()); n > 7 {
		t.Errorf("%d requests %v", n, src.Calls())
	}
}

// TestReaderNoTiling: an object that is not tiled is read block by block,
// nothing more.
func TestReaderNoTiling(t *testing.T) {
	checkNoLeak(t)
	c, err := New(Options{BlockSize: 16 << 10, Tiling: func(io.ReaderAt, int64) (Tiling, error) { return nil, io.ErrUnexpectedEOF }})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	const size = 8 << 20
	src := &rampSource{seed: 1, size: size}
	r := c.NewReader(Object{Key: "flat", Size: size, Src: src})
	defer r.Close()
	s := &stdio{r: r, t: t, src: src}
	s.read(1<<20, 1<<20+300<<10)
	s.read(3<<20, 3<<20+300<<10)
	waitFor(t, "fetches to end", c.idle)
	var fetched int64
	for _, sp := range src.Calls() {
		fetched += sp.End - sp.Off
	}
	if fetched > 2*(300<<10+32<<10) {
		t.Errorf("fetched %d bytes for two reads of 300 KiB: %v", fetched, src.Calls())
	}
}

// TestReaderTilesPointReads: an object read one tile at a time (sampling
// points) stops fetching neighbours after two such reads, and starts again
// once a window is read.
func TestReaderTilesPointReads(t *testing.T) {
	checkNoLeak(t)
	g := bigGrid()
	c := tiledCache(t, g)
	src := &rampSource{seed: 13, size: g.size}
	obj := Object{Key: "cog", Size: g.size, Src: src}
	point := func(row, col int) (calls int, fetched int64) {
		src.Reset()
		r := c.NewReader(obj) // a new handle per point, like gdallocationinfo
		s := &stdio{r: r, t: t, src: src}
		s.readTiles(g, 0, col, col, row, row)
		r.Close()
		waitFor(t, "fetches to end", c.idle)
		for _, sp := range src.Calls() {
			fetched += sp.End - sp.Off
		}
		return len(src.Calls()), fetched
	}
	tileSize := func(row, col int) int64 { tl, _ := g.Tile(0, row, col); return tl.End - tl.Start }
	for i, p := range [][2]int{{0, 0}, {2, 4}, {4, 1}, {6, 6}} {
		calls, fetched := point(p[0], p[1])
		speculating := i < pointReadsToStop
		if got := fetched > tileSize(p[0], p[1])+64<<10; got != speculating {
			t.Errorf("point %d (%v): %d calls, %d bytes for a tile of %d: neighbours fetched %v, want %v",
				i, p, calls, fetched, tileSize(p[0], p[1]), got, speculating)
		}
	}
	// A window again: neighbours again from its second row on (its first
	// row shows it is a window).
	r := c.NewReader(obj)
	(&stdio{r: r, t: t, src: src}).readTiles(g, 0, 2, 4, 1, 2)
	r.Close()
	waitFor(t, "fetches to end", c.idle)
	if n, all := c.pointReads("cog"); n != 0 || all != 0 {
		t.Errorf("after a window, %d point reads of the object and %d of all remembered, want 0", n, all)
	}
}

// TestReaderTilesPointReadsAcrossObjects: sampling a point through many
// objects (one tile of each, like a pixel time series through scenes)
// stops fetching neighbours on new objects after three of them, and a
// window read anywhere starts it again. A one-tile-wide image tells
// nothing either way.
func TestReaderTilesPointReadsAcrossObjects(t *testing.T) {
	checkNoLeak(t)
	g := newGrid([2]int{22, 22}, [2]int{1, 1})
	c := tiledCache(t, g)
	tileSize := func(img, row, col int) int64 { tl, _ := g.Tile(img, row, col); return tl.End - tl.Start }
	var src *rampSource
	// read reads tiles [c0, c1] x [r0, r1] of image img of a new object
	// through a new handle, and returns the bytes fetched.
	read := func(name string, img, c0, c1, r0, r1 int) int64 {
		src = &rampSource{seed: 17, size: g.size}
		r := c.NewReader(Object{Key: name, Size: g.size, Src: src})
		(&stdio{r: r, t: t, src: src}).readTiles(g, img, c0, c1, r0, r1)
		r.Close()
		waitFor(t, "fetches to end", c.idle)
		var fetched int64
		for _, sp := range src.Calls() {
			fetched += sp.End - sp.Off
		}
		return fetched
	}
	speculated := func(fetched int64, img, row, col int) bool {
		return fetched > tileSize(img, row, col)+64<<10
	}
	for i := range 5 {
		// Not quite the same tile each time, or the next objects would
		// get it as a learned window (tiles_learned.go).
		fetched := read(fmt.Sprintf("scene-%d", i), 0, 3+i, 3+i, 5, 5)
		if got, want := speculated(fetched, 0, 5, 3+i), i < pointRowsToStop; got != want {
			t.Errorf("scene %d: %d bytes for a tile of %d: neighbours fetched %v, want %v", i, fetched, tileSize(0, 5, 3+i), got, want)
		}
	}
	// The one tile of a one-tile-wide image changes nothing.
	read("tiny", 1, 0, 0, 0, 0)
	if _, all := c.pointReads(""); all < pointRowsToStop {
		t.Errorf("a one-tile-wide image reset the point rows to %d", all)
	}
	// A window (two rows of three tiles) on a new object: its first row
	// starts as a point read and becomes a window; the next object
	// speculates again.
	read("window", 0, 2, 4, 1, 2)
	if _, all := c.pointReads(""); all != 0 {
		t.Errorf("after a window, %d point rows remembered, want 0", all)
	}
	if fetched := read("after-window", 0, 3, 3, 5, 5); !speculated(fetched, 0, 5, 3) {
		t.Errorf("after a window: %d bytes for a tile of %d, want neighbours fetched", fetched, tileSize(0, 5, 3))
	}
}

// TestReaderTilesFromStart: a streak from byte 0 through a tiled object is a
// copy (read-ahead) only once it has read past the first tile (and its
// mask's tile): GDAL reads the header and then the smallest overview, the
// tile right after it, also gapless from byte 0 and more than 256 KiB.
func TestReaderTilesFromStart(t *testing.T) {
	checkNoLeak(t)
	g := newGrid([2]int{8, 8}, [2]int{4, 4}, [2]int{2, 2}, [2]int{1, 1})
	// The same with a mask of the smallest overview: image 4 is the first
	// tile in the file, and image 3's one tile (its mask) comes right after.
	masked := newGrid([2]int{8, 8}, [2]int{4, 4}, [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1})
	for _, tc := range []struct {
		name      string
		g         *grid
		read      func(s *stdio, g *grid)
		readAhead bool
	}{
		{"thumbnail: header, then the first tile", g, func(s *stdio, g *grid) {
			s.read(0, 16<<10)
			s.readTiles(g, 3, 0, 0, 0, 0)
		}, false},
		{"thumbnail with a mask: header, the first tile, the mask's", masked, func(s *stdio, g *grid) {
			s.read(0, 16<<10)
			s.readTiles(g, 4, 0, 0, 0, 0)
			s.readTiles(g, 3, 0, 0, 0, 0)
		}, false},
		{"cp: 1 MiB reads from byte 0", g, func(s *stdio, _ *grid) {
			for off := int64(0); off < 4<<20; off += 1 << 20 {
				s.pread(off, 1<<20)
			}
		}, true},
		{"cp with a mask", masked, func(s *stdio, _ *grid) {
			for off := int64(0); off < 4<<20; off += 1 << 20 {
				s.pread(off, 1<<20)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, src, s := tiledReader(t, tc.g, 23)
			tc.read(s, tc.g)
			waitFor(t, "fetches to end", c.idle)
			var fetched int64
			for _, sp := range src.Calls() {
				fetched = max(fetched, sp.End)
			}
			const window = 16 << 20 // the default first read-ahead window
			if got := fetched >= window; got != tc.readAhead {
				t.Errorf("fetched up to %d: read-ahead %v, want %v; requests %v",
					fetched, got, tc.readAhead, src.Calls())
			}
		})
	}
}
