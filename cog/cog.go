// Package cog reads the tile layout of a tiled TIFF (a Cloud Optimized
// GeoTIFF, classic or BigTIFF): for every image of the file (full
// resolution, overviews, masks) where each tile's bytes are. The block cache
// uses it to plan reads in whole tiles and whole rows of tiles, the way
// GDAL's /vsicurl/ plans them, instead of in the pieces a reader's buffered
// I/O happens to ask for.
//
// Parse reads only the IFDs and the TileOffsets/TileByteCounts arrays,
// through an io.ReaderAt, so a caller can give it just the bytes it has
// (the head of the file) and retry later when more are there.
package cog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// TIFF tags and field types used here.
const (
	tagImageWidth     = 256
	tagImageLength    = 257
	tagSamplesPerPix  = 277
	tagPlanarConfig   = 284
	tagTileWidth      = 322
	tagTileLength     = 323
	tagTileOffsets    = 324
	tagTileByteCounts = 325

	typeShort  = 3
	typeLong   = 4
	typeLong8  = 16
	typeIFD    = 13
	typeIFD8   = 18
	maxIFDs    = 256     // images in one file (a COG has a handful)
	maxEntries = 4096    // entries in one IFD
	maxTiles   = 1 << 24 // tiles in one file
)

// ErrNotTiled is returned for a valid TIFF without tiles (a striped TIFF)
// and for a file that is not a TIFF: nothing to plan with.
var ErrNotTiled = errors.New("cog: not a tiled TIFF")

// Tile is one tile of one image: its position and its bytes [Start, End).
type Tile struct {
	Image int // index of the image (IFD) in file order, 0 = full resolution
	Row   int // tile row
	Col   int // tile column
	Start int64
	End   int64
}

// image is one tiled IFD.
type image struct {
	across, down, planes int
	off, n               []int64 // per tile, in TIFF order (plane, row, col)
}

// Layout is the tile layout of a file. It is immutable and safe for
// concurrent use.
type Layout struct {
	images []image
	byOff  []Tile // non-empty tiles sorted by Start
}

// Parse reads the layout of a tiled TIFF of size bytes through r. It fails
// with ErrNotTiled when the file is not a tiled TIFF, and with the error of r
// when a byte it needs cannot be read.
func Parse(r io.ReaderAt, size int64) (*Layout, error) {
	p := &parser{r: r, size: size}
	hdr, err := p.read(0, int(min(size, 16)))
	if len(hdr) < 8 {
		if err != nil && size >= 8 {
			return nil, fmt.Errorf("cog: read header: %w", err)
		}
		return nil, ErrNotTiled
	}
	switch string(hdr[:2]) {
	case "II":
		p.bo = binary.LittleEndian
	case "MM":
		p.bo = binary.BigEndian
	default:
		return nil, ErrNotTiled
	}
	var next int64
	switch p.bo.Uint16(hdr[2:]) {
	case 42:
		next = int64(p.bo.Uint32(hdr[4:]))
	case 43:
		if len(hdr) < 16 || p.bo.Uint16(hdr[4:]) != 8 {
			return nil, ErrNotTiled
		}
		p.big = true
		next = int64(p.bo.Uint64(hdr[8:]))
	default:
		return nil, ErrNotTiled
	}
	l := &Layout{}
	seen := map[int64]bool{}
	for next != 0 && len(l.images) < maxIFDs {
		if seen[next] {
			return nil, fmt.Errorf("cog: IFD loop at offset %d", next)
		}
		seen[next] = true
		img, nxt, err := p.ifd(next)
		if err != nil {
			return nil, err
		}
		next = nxt
		if img == nil {
			continue // a striped image in a tiled file: no tiles to plan
		}
		l.images = append(l.images, *img)
	}
	if len(l.images) == 0 {
		return nil, ErrNotTiled
	}
	total := 0
	for i, img := range l.images {
		total += len(img.off)
		if total > maxTiles {
			return nil, fmt.Errorf("cog: more than %d tiles", maxTiles)
		}
		per := img.across * img.down
		for k, off := range img.off {
			if img.n[k] <= 0 || off < 0 || off+img.n[k] > size {
				continue // empty (sparse) or out of the file
			}
			l.byOff = append(l.byOff, Tile{Image: i, Row: (k % per) / img.across, Col: k % img.across,
				Start: off, End: off + img.n[k]})
		}
	}
	sort.Slice(l.byOff, func(i, j int) bool { return l.byOff[i].Start < l.byOff[j].Start })
	return l, nil
}

// Images returns the number of tiled images.
func (l *Layout) Images() int { return len(l.images) }

// Grid returns how many tiles image img has across and down; ok is false
// when there is no image img.
func (l *Layout) Grid(img int) (across, down int, ok bool) {
	if img < 0 || img >= len(l.images) {
		return 0, 0, false
	}
	return l.images[img].across, l.images[img].down, true
}

// Tiles returns the number of non-empty tiles of all images.
func (l *Layout) Tiles() int { return len(l.byOff) }

// First returns the tile stored first in the file (in a COG, the smallest
// overview's), false when no tile has bytes.
func (l *Layout) First() (Tile, bool) {
	if len(l.byOff) == 0 {
		return Tile{}, false
	}
	return l.byOff[0], true
}

// TileAt returns the tile whose bytes hold offset off, or, when off falls in
// the few bytes between two tiles (GDAL writes a 4-byte leader before and a
// 4-byte trailer after each tile), the tile before them.
func (l *Layout) TileAt(off int64) (Tile, bool) {
	const gap = 16
	i := sort.Search(len(l.byOff), func(i int) bool { return l.byOff[i].Start > off }) - 1
	if i < 0 || off >= l.byOff[i].End+gap {
		return Tile{}, false
	}
	return l.byOff[i], true
}

// Tile returns the tile at (row, col) of the first plane of image img.
func (l *Layout) Tile(img, row, col int) (Tile, bool) {
	if img < 0 || img >= len(l.images) {
		return Tile{}, false
	}
	im := &l.images[img]
	if row < 0 || row >= im.down || col < 0 || col >= im.across {
		return Tile{}, false
	}
	k := row*im.across + col
	if im.n[k] <= 0 {
		return Tile{}, false
	}
	return Tile{Image: img, Row: row, Col: col, Start: im.off[k], End: im.off[k] + im.n[k]}, true
}

// parser reads IFDs.
type parser struct {
	r    io.ReaderAt
	size int64
	bo   binary.ByteOrder
	big  bool
}

func (p *parser) read(off int64, n int) ([]byte, error) {
	if off < 0 || off >= p.size {
		return nil, fmt.Errorf("cog: offset %d outside the file (%d bytes)", off, p.size)
	}
	if int64(n) > p.size-off {
		return nil, fmt.Errorf("cog: %d bytes at %d: past the end of the file (%d bytes): %w", n, off, p.size, io.ErrUnexpectedEOF)
	}
	b := make([]byte, n)
	m, err := p.r.ReadAt(b, off)
	if m == n {
		return b, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return b[:m], err
}

// entry is one IFD entry.
type entry struct {
	typ   uint16
	count int64
	raw   []byte // the value field (4 or 8 bytes)
}

// ifd reads the IFD at off: its tiled image (nil when it has no tiles) and
// the offset of the next IFD.
func (p *parser) ifd(off int64) (*image, int64, error) {
	cntSize, entSize, ptrSize := 2, 12, 4
	if p.big {
		cntSize, entSize, ptrSize = 8, 20, 8
	}
	b, err := p.read(off, cntSize)
	if err != nil {
		return nil, 0, fmt.Errorf("cog: read IFD at %d: %w", off, err)
	}
	var n int64
	if p.big {
		n = int64(p.bo.Uint64(b))
	} else {
		n = int64(p.bo.Uint16(b))
	}
	if n <= 0 || n > maxEntries {
		return nil, 0, fmt.Errorf("cog: IFD at %d has %d entries", off, n)
	}
	b, err = p.read(off+int64(cntSize), int(n)*entSize+ptrSize)
	if err != nil {
		return nil, 0, fmt.Errorf("cog: read IFD at %d: %w", off, err)
	}
	ents := map[uint16]entry{}
	for i := range int(n) {
		e := b[i*entSize:]
		var en entry
		en.typ = p.bo.Uint16(e[2:])
		if p.big {
			en.count = int64(p.bo.Uint64(e[4:]))
			en.raw = e[12:20]
		} else {
			en.count = int64(p.bo.Uint32(e[4:]))
			en.raw = e[8:12]
		}
		ents[p.bo.Uint16(e)] = en
	}
	tail := b[int(n)*entSize:]
	var next int64
	if p.big {
		next = int64(p.bo.Uint64(tail))
	} else {
		next = int64(p.bo.Uint32(tail))
	}

	if _, ok := ents[tagTileOffsets]; !ok {
		return nil, next, nil
	}
	scalar := func(tag uint16, def int64) (int64, error) {
		e, ok := ents[tag]
		if !ok {
			return def, nil
		}
		v, err := p.values(e, 1)
		if err != nil || len(v) == 0 {
			return 0, fmt.Errorf("cog: tag %d of IFD at %d: %v", tag, off, err)
		}
		return v[0], nil
	}
	var w, h, tw, th, spp, planar int64
	for _, f := range []struct {
		tag uint16
		def int64
		v   *int64
	}{{tagImageWidth, 0, &w}, {tagImageLength, 0, &h}, {tagTileWidth, 0, &tw}, {tagTileLength, 0, &th},
		{tagSamplesPerPix, 1, &spp}, {tagPlanarConfig, 1, &planar}} {
		if *f.v, err = scalar(f.tag, f.def); err != nil {
			return nil, 0, err
		}
	}
	if w <= 0 || h <= 0 || tw <= 0 || th <= 0 || spp <= 0 || w > 1<<31 || h > 1<<31 {
		return nil, 0, fmt.Errorf("cog: IFD at %d: bad geometry %dx%d, tiles %dx%d", off, w, h, tw, th)
	}
	img := &image{across: int((w + tw - 1) / tw), down: int((h + th - 1) / th), planes: 1}
	if planar == 2 {
		img.planes = int(spp)
	}
	want := int64(img.across) * int64(img.down) * int64(img.planes)
	if want > maxTiles {
		return nil, 0, fmt.Errorf("cog: IFD at %d: %d tiles", off, want)
	}
	if img.off, err = p.values(ents[tagTileOffsets], want); err != nil {
		return nil, 0, fmt.Errorf("cog: TileOffsets of IFD at %d: %w", off, err)
	}
	bc, ok := ents[tagTileByteCounts]
	if !ok {
		return nil, 0, fmt.Errorf("cog: IFD at %d has TileOffsets but no TileByteCounts", off)
	}
	if img.n, err = p.values(bc, want); err != nil {
		return nil, 0, fmt.Errorf("cog: TileByteCounts of IFD at %d: %w", off, err)
	}
	return img, next, nil
}

// values reads the want unsigned integers of e (inline or at its offset).
func (p *parser) values(e entry, want int64) ([]int64, error) {
	var sz int
	switch e.typ {
	case typeShort:
		sz = 2
	case typeLong, typeIFD:
		sz = 4
	case typeLong8, typeIFD8:
		sz = 8
	default:
		return nil, fmt.Errorf("unsupported field type %d", e.typ)
	}
	if e.count < want {
		return nil, fmt.Errorf("%d values, want %d", e.count, want)
	}
	total := int(want) * sz
	data := e.raw
	if total > len(e.raw) {
		var at int64
		if p.big {
			at = int64(p.bo.Uint64(e.raw))
		} else {
			at = int64(p.bo.Uint32(e.raw))
		}
		var err error
		if data, err = p.read(at, total); err != nil {
			return nil, err
		}
	}
	out := make([]int64, want)
	for i := range out {
		switch sz {
		case 2:
			out[i] = int64(p.bo.Uint16(data[i*2:]))
		case 4:
			out[i] = int64(p.bo.Uint32(data[i*4:]))
		default:
			out[i] = int64(p.bo.Uint64(data[i*8:]))
		}
	}
	return out, nil
}
