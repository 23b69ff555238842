package cache

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// headerTiling is a Tiling option giving g once the header (block 0) of an
// object is resident, as cog.Parse does: before, the layout is unknown.
func headerTiling(g *grid) func(io.ReaderAt, int64) (Tiling, error) {
	return func(r io.ReaderAt, _ int64) (Tiling, error) {
		if _, err := r.ReadAt(make([]byte, 16<<10), 0); err != nil {
			return nil, err
		}
		return g, nil
	}
}

// sceneCache returns a cache of 16 KiB blocks whose objects have the layout
// g, known once their header is read.
func sceneCache(t *testing.T, g *grid) *Cache {
	t.Helper()
	c, err := New(Options{BlockSize: 16 << 10, Tiling: headerTiling(g)})
	if err != nil {
		t.Fatal(err)
	}
	checkAtEnd(t, c)
	return c
}

// fetchedBytes sums the bytes of calls.
func fetchedBytes(calls []span) (n int64) {
	for _, sp := range calls {
		n += sp.End - sp.Off
	}
	return n
}

// requestSlack is what a request may fetch beyond the tiles it is for:
// rounding out to 16 KiB blocks on both sides, and 8 KiB past the tile.
const requestSlack = 2*16<<10 + 8<<10

// TestReaderTilesSmallScene: in a small COG (a 2048 px scene of 4x4 tiles
// of 512 px), the row planning guesses no tile the reader has not asked
// for: its 3x3 first-row guess (and a row ahead) would be the bytes a
// time series' window needs several times over. GDAL reads the header,
// then the window's tiles through C stdio; the fetches are the header and
// the tiles read, like GDAL's /vsicurl/ (which knows the window), with no
// whole tile beyond.
func TestReaderTilesSmallScene(t *testing.T) {
	checkNoLeak(t)
	g := sceneGrid()
	for _, tc := range []struct {
		name        string
		img, c0, c1 int
		r0, r1      int
		maxCalls    int // the header's included
	}{
		// The bench's time series: a 256 px window off the tile grid
		// that spans one column and two rows.
		{"time series window: one column, two rows", 0, 1, 1, 1, 2, 3},
		{"one tile", 0, 2, 2, 2, 2, 2},
		// A row of two, then the row below as wide in one request.
		{"2x2 window", 0, 1, 2, 1, 2, 4},
		{"whole 2x2 overview (thumbnail)", 1, 0, 1, 0, 1, 4},
		{"a row of three", 0, 0, 2, 3, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sceneCache(t, g)
			src := &rampSource{seed: 29, size: g.size}
			r := c.NewReader(Object{Key: "scene", Size: g.size, Src: src})
			defer r.Close()
			s := &stdio{r: r, t: t, src: src}
			s.read(0, 16<<10) // the header
			read := s.readTiles(g, tc.img, tc.c0, tc.c1, tc.r0, tc.r1)
			waitFor(t, "fetches to end", c.idle)
			calls := src.Calls()
			if len(calls) > tc.maxCalls {
				t.Errorf("%d requests %v, want at most %d", len(calls), calls, tc.maxCalls)
			}
			if fetched, limit := fetchedBytes(calls), 16<<10+read+int64(len(calls))*requestSlack; fetched > limit {
				t.Errorf("fetched %d bytes for a header and %d of tiles, want at most %d: %v", fetched, read, limit, calls)
			}
		})
	}
}

// TestReaderTilesCheapObject: an object of cheapObject bytes or less (a
// 1024 px COG of 256 px tiles of ~50 KiB) costs about a round trip whole,
// so its rows are guessed as in a big file: a 3x3 window is a request per
// row, its first row's request sent with the two rows below.
func TestReaderTilesCheapObject(t *testing.T) {
	checkNoLeak(t)
	g := newGridOf(40<<10, 20<<10, [2]int{4, 4}, [2]int{2, 2}, [2]int{1, 1})
	if g.size > cheapObject {
		t.Fatalf("the grid is %d bytes, more than cheapObject", g.size)
	}
	c := sceneCache(t, g)
	src := &rampSource{seed: 37, size: g.size}
	r := c.NewReader(Object{Key: "small", Size: g.size, Src: src})
	defer r.Close()
	s := &stdio{r: r, t: t, src: src}
	s.read(0, 16<<10)
	first, _ := g.Tile(0, 0, 1)
	s.read(first.Start, first.Start+1) // the read that starts the window
	waitFor(t, "fetches to end", c.idle)
	if n := len(src.Calls()); n != 4 {
		t.Errorf("%d requests %v after the first tile's read, want 4 (the header and a row each)", n, src.Calls())
	}
	s.readTiles(g, 0, 1, 3, 0, 2)
	waitFor(t, "fetches to end", c.idle)
	if n := len(src.Calls()); n > 6 {
		t.Errorf("%d requests %v for the header and a 3x3 window, want at most 6", n, src.Calls())
	}
}

// TestReaderTilesLearnedWindow: objects of one tile geometry read one after
// the other, each through a new handle (GDAL opening scene after scene).
// Once two objects in a row were read in the same tiles, a new object's
// tiles of that window are fetched at its first read (its header, primed
// when stacfs opened it), before the
// reader asks for them, in one request per tile (one round trip for the
// window), and nothing else; objects read in other tiles (a mosaic), or
// opened for their header only, learn nothing and are given nothing.
func TestReaderTilesLearnedWindow(t *testing.T) {
	checkNoLeak(t)
	g := sceneGrid()
	type window struct { // of image 0; c0 < 0: the header only
		c0, c1, r0, r1 int
		longHeader     bool // the header read as one 64 KiB read
	}
	series := window{c0: 1, c1: 1, r0: 1, r1: 2} // the bench's time series
	header := window{c0: -1}
	bigHeader := window{c0: 1, c1: 1, r0: 1, r1: 2, longHeader: true}
	for _, tc := range []struct {
		name    string
		objects []window
		ahead   []bool // the object's window fetched before it is read
	}{
		{"time series", []window{series, series, series, series, series},
			[]bool{false, false, true, true, true}},
		{"a 2x2 window through scenes", []window{{2, 3, 0, 1, false}, {2, 3, 0, 1, false}, {2, 3, 0, 1, false}},
			[]bool{false, false, true}},
		{"mosaic: each object read in other tiles", []window{{2, 3, 2, 3, false}, {0, 1, 2, 3, false}, {2, 3, 0, 1, false}, {0, 1, 0, 1, false}},
			[]bool{false, false, false, false}},
		{"headers only (gdalinfo) tell nothing", []window{series, header, header, series, series},
			[]bool{false, false, false, false, true}},
		{"a header-only open given the window ends it", []window{series, series, header, series, series, series},
			[]bool{false, false, true, false, false, true}},
		// 64 KiB reads from byte 0 (not stdio's 8 KiB) reach far into the
		// smallest overview's tile, stored right after the header: that
		// is still the header.
		{"a long header read learns no overview tile", []window{bigHeader, bigHeader, bigHeader},
			[]bool{false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sceneCache(t, g)
			for i, w := range tc.objects {
				src := &rampSource{seed: 31 + i, size: g.size}
				obj := Object{Key: fmt.Sprintf("scene-%d", i), Size: g.size, Src: src}
				// stacfs' open reads the head (size, version) and primes
				// the cache with it: the layout is known at the first read.
				head := make([]byte, 16<<10)
				fillRamp(head, src.seed, 0)
				c.Prime(obj, 0, head)
				r := c.NewReader(obj)
				s := &stdio{r: r, t: t, src: src}
				if w.longHeader {
					s.pread(0, 64<<10)
				} else {
					s.read(0, 16<<10) // the header
				}
				s.pread(4<<10, 512) // more of it
				waitFor(t, "fetches to end", c.idle)
				if w.c0 < 0 {
					if calls := src.Calls(); tc.ahead[i] != (len(calls) > 0) {
						t.Errorf("object %d (header only): requests %v, want the window fetched %v", i, calls, tc.ahead[i])
					}
					r.Close()
					continue
				}
				ahead := true
				for row := w.r0; row <= w.r1; row++ {
					for col := w.c0; col <= w.c1; col++ {
						tl, _ := g.Tile(0, row, col)
						covered := false
						for _, sp := range src.Calls() {
							covered = covered || (sp.Off <= tl.Start && tl.End <= sp.End)
						}
						ahead = ahead && covered
					}
				}
				if ahead != tc.ahead[i] {
					t.Errorf("object %d: window fetched before it was read %v, want %v; requests %v", i, ahead, tc.ahead[i], src.Calls())
				}
				before := len(src.Calls())
				read := s.readTiles(g, 0, w.c0, w.c1, w.r0, w.r1)
				r.Close()
				waitFor(t, "fetches to end", c.idle)
				calls := src.Calls()
				if fetched, limit := fetchedBytes(calls), 16<<10+read+int64(len(calls))*requestSlack; fetched > limit {
					t.Errorf("object %d: fetched %d bytes for a header and %d of tiles, want at most %d: %v", i, fetched, read, limit, calls)
				}
				if tc.ahead[i] {
					// One request per row of the window (its tiles of a row are
					// adjacent in the file), none once it is read.
					want := w.r1 - w.r0 + 1
					if w.longHeader {
						want++ // the rest of the 64 KiB read
					}
					if before != want || len(calls) != want {
						t.Errorf("object %d: %d requests before the window was read, %d after (%v), want %d", i, before, len(calls), calls, want)
					}
				}
			}
		})
	}
}

// TestReaderTilesLearnedWindowParallel: the bench's 8 processes of 3 scenes
// each, at once. Nothing but the header and the window's tiles is fetched
// for any scene (the first ones plan row by row, the later ones get the
// window learned from those that finished), and the bytes read are right.
func TestReaderTilesLearnedWindowParallel(t *testing.T) {
	checkNoLeak(t)
	g := sceneGrid()
	c := sceneCache(t, g)
	const procs, each = 8, 3
	srcs := make([]*rampSource, procs*each)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				i := p*each + k
				src := &rampSource{seed: 41 + i, size: g.size}
				srcs[i] = src
				r := c.NewReader(Object{Key: fmt.Sprintf("scene-%d", i), Size: g.size, Src: src})
				s := &stdio{r: r, t: t, src: src}
				s.read(0, 16<<10)
				s.readTiles(g, 0, 1, 1, 1, 2)
				r.Close()
			}
		}()
	}
	wg.Wait()
	waitFor(t, "fetches to end", c.idle)
	var read int64
	for r := 1; r <= 2; r++ {
		tl, _ := g.Tile(0, r, 1)
		read += tl.End - tl.Start
	}
	for i, src := range srcs {
		calls := src.Calls()
		if fetched, limit := fetchedBytes(calls), 16<<10+read+int64(len(calls))*requestSlack; len(calls) > 3 || fetched > limit {
			t.Errorf("scene %d: %d requests, %d bytes for a header and %d of tiles, want at most 3 and %d: %v",
				i, len(calls), fetched, read, limit, calls)
		}
	}
}
