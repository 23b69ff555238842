package cache

import (
	"fmt"
	"io"
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

// TestReaderTilesLearnedWindow: objects of one tile geometry read one after
// the other, each through a new handle (GDAL opening scene after scene).
// Once two objects in a row were read in the same tiles, a new object's
// tiles of that window are fetched as soon as its header is in, before the
// reader asks for them, in one request per tile (one round trip for the
// window), and nothing else; objects read in other tiles (a mosaic), or
// opened for their header only, learn nothing and are given nothing.
func TestReaderTilesLearnedWindow(t *testing.T) {
	checkNoLeak(t)
	g := sceneGrid()
	type window struct{ c0, c1, r0, r1 int } // of image 0; c0 < 0: the header only
	series := window{1, 1, 1, 2}             // the bench's time series
	header := window{c0: -1}
	for _, tc := range []struct {
		name    string
		objects []window
		ahead   []bool // the object's window fetched before it is read
	}{
		{"time series", []window{series, series, series, series, series},
			[]bool{false, false, true, true, true}},
		{"a 2x2 window through scenes", []window{{2, 3, 0, 1}, {2, 3, 0, 1}, {2, 3, 0, 1}},
			[]bool{false, false, true}},
		{"mosaic: each object read in other tiles", []window{{2, 3, 2, 3}, {0, 1, 2, 3}, {2, 3, 0, 1}, {0, 1, 0, 1}},
			[]bool{false, false, false, false}},
		{"headers only (gdalinfo) tell nothing", []window{series, header, header, series, series},
			[]bool{false, false, false, false, true}},
		{"a header-only open given the window ends it", []window{series, series, header, series, series, series},
			[]bool{false, false, true, false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sceneCache(t, g)
			for i, w := range tc.objects {
				src := &rampSource{seed: 31 + i, size: g.size}
				r := c.NewReader(Object{Key: fmt.Sprintf("scene-%d", i), Size: g.size, Src: src})
				s := &stdio{r: r, t: t, src: src}
				s.read(0, 16<<10)   // the header
				s.pread(4<<10, 512) // more of it, once in: the layout is known
				waitFor(t, "fetches to end", c.idle)
				if w.c0 < 0 {
					if calls := src.Calls(); tc.ahead[i] != (len(calls) > 1) {
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
					if want := 1 + w.r1 - w.r0 + 1; before != want || len(calls) != want {
						t.Errorf("object %d: %d requests before the window was read, %d after (%v), want %d", i, before, len(calls), calls, want)
					}
				}
			}
		})
	}
}
