package cache

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Windows learned across objects. A time series reads one window from tens
// of scenes of one place, objects with the same tile grids: GDAL reads the
// header of each, then the same few tiles. Each Reader remembers the tiles
// it read, and on Close tells the cache, per tile geometry (the tiles
// across and down of every image). Once the last learnAgree objects of a
// geometry were read in exactly the same tiles, a Reader of a new object
// of that geometry fetches those tiles as soon as the object's layout is
// known (right after the header, while GDAL still parses it), all at once,
// one request per run of tiles adjacent in the file: a scene then costs two
// round trips (header, window), where planning row by row costs one per
// row of the window, and /vsicurl/ three (HEAD, header, the window's tiles,
// which GDAL knows). Reads of those tiles plan nothing more; a read outside
// them is planned row by row as usual.
//
// A Reader that was given a window and read none of it (a gdalinfo after a
// time series) breaks the agreement, so that opening many objects for their
// header only does not fetch windows nobody reads. A Reader that streamed
// (a copy) or read more than maxLearnedTiles tiles tells nothing.

const (
	// learnAgree is how many objects in a row must have been read in the
	// same tiles before new objects of their geometry get them ahead.
	learnAgree = 2
	// maxLearnedTiles is the largest window remembered, in tiles: a
	// bigger one is fetched in about a request per row by the row
	// planning already.
	maxLearnedTiles = 32
	// maxShapes is how many tile geometries windows are remembered for.
	maxShapes = 64
	// maxShapeImages is how many images of a layout its geometry names.
	maxShapeImages = 64
)

// tileID names a tile of an image.
type tileID struct{ img, row, col int }

// learned is the window the last objects of one geometry were read in.
type learned struct {
	tiles []tileID // sorted; never changed once stored
	agree int      // objects in a row read in exactly these tiles
}

// byteRun is the bytes [start, end) of an object.
type byteRun struct{ start, end int64 }

// shapeOf returns the tile geometry of a layout: the tiles across and down
// of each image.
func shapeOf(tl Tiling) string {
	var b strings.Builder
	for img := range maxShapeImages {
		a, d, ok := tl.Grid(img)
		if !ok {
			break
		}
		fmt.Fprintf(&b, "%dx%d ", a, d)
	}
	return b.String()
}

// learnedWindow returns the window agreed on for objects of shape, nil when
// there is none.
func (c *Cache) learnedWindow(shape string) []tileID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.windows.Get(shape); ok && l.agree >= learnAgree {
		return l.tiles
	}
	return nil
}

// learn records that an object of shape was read in tiles (sorted).
func (c *Cache) learn(shape string, tiles []tileID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.windows.Get(shape); ok && slices.Equal(l.tiles, tiles) {
		c.windows.Add(shape, learned{tiles: l.tiles, agree: min(l.agree+1, 1<<20)})
		return
	}
	c.windows.Add(shape, learned{tiles: tiles, agree: 1})
}

// recall is called once the object's layout is known: it returns the runs
// of bytes of the window learned for the object's geometry (each tile with
// the slack a buffered reader reads past it, tiles adjacent in the file in
// one run), and follows its tiles. None without an agreed window. r.mu
// must be held.
func (r *Reader) recall() []byteRun {
	r.shape = shapeOf(r.tiling)
	ids := r.c.learnedWindow(r.shape)
	if len(ids) == 0 {
		return nil
	}
	tiles := make([]Tile, 0, len(ids))
	r.follow = make(map[tileID]bool, len(ids))
	for _, id := range ids {
		if t, ok := r.tiling.Tile(id.img, id.row, id.col); ok {
			tiles = append(tiles, t)
			r.follow[id] = true
		}
	}
	slices.SortFunc(tiles, func(a, b Tile) int { return cmp.Compare(a.Start, b.Start) })
	var spans []byteRun
	for _, t := range tiles {
		if n := len(spans); n > 0 && t.Start <= spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, t.End+tileSlack)
			continue
		}
		spans = append(spans, byteRun{t.Start, t.End + tileSlack})
	}
	return spans
}

// fetchWindow turns the runs of a recalled window into the fetches of the
// read [off, end): the run holding the read's tile is fetched with the
// read, in its request (fetchEnd), the others are prefetched. r.mu must be
// held.
func (r *Reader) fetchWindow(spans []byteRun, off, end int64) (fetchEnd int64, specs []prefetch) {
	fetchEnd = end
	t, inWindow := r.followedTile(off, end)
	for _, sp := range spans {
		if inWindow && sp.start <= t.Start && t.End <= sp.end {
			fetchEnd = max(end, sp.end)
			if sp.start < off {
				specs = append(specs, r.blocks(sp.start, off))
			}
			continue
		}
		specs = append(specs, r.blocks(sp.start, sp.end))
	}
	return fetchEnd, specs
}

// followedTile returns the tile of the learned window that the read
// [off, end) reads: the tile it reaches into, or the one it starts in (a
// buffered reader's first read of a tile starts a little before it, its
// last reaches a little past it). r.mu must be held.
func (r *Reader) followedTile(off, end int64) (Tile, bool) {
	if r.follow == nil {
		return Tile{}, false
	}
	for _, at := range []int64{end - 1, off} {
		if t, ok := r.tiling.TileAt(at); ok && r.follow[tileID{t.Image, t.Row, t.Col}] {
			return t, true
		}
	}
	return Tile{}, false
}

// touch records the tiles the read [off, end) reads: those it overlaps by
// more than the slack of a buffered reader (or whole, when smaller). A read
// that starts in the header reads the header, even when it reaches far into
// the tile stored after it (the smallest overview's). r.mu must be held.
func (r *Reader) touch(off, end int64) {
	if r.noLearn {
		return
	}
	if _, ok := r.tiling.TileAt(off); !ok {
		return
	}
	for _, at := range []int64{off, end - 1} {
		t, ok := r.tiling.TileAt(at)
		if !ok {
			continue
		}
		if min(end, t.End)-max(off, t.Start) < min(tileSlack, t.End-t.Start) {
			continue
		}
		if r.touched == nil {
			r.touched = map[tileID]bool{}
		}
		r.touched[tileID{t.Image, t.Row, t.Col}] = true
		if len(r.touched) > maxLearnedTiles {
			r.noLearn, r.touched = true, nil
			return
		}
	}
}

// tellWindow tells the cache which tiles this Reader read (see the top of
// this file). r.mu must be held.
func (r *Reader) tellWindow() {
	if r.shape == "" || r.noLearn || (len(r.touched) == 0 && r.follow == nil) {
		return
	}
	tiles := make([]tileID, 0, len(r.touched))
	for id := range r.touched {
		tiles = append(tiles, id)
	}
	slices.SortFunc(tiles, func(a, b tileID) int {
		return cmp.Or(cmp.Compare(a.img, b.img), cmp.Compare(a.row, b.row), cmp.Compare(a.col, b.col))
	})
	r.c.learn(r.shape, tiles)
}
