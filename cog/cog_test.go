package cog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// goldenTile is a tile as GDAL reports it (BLOCK_OFFSET/BLOCK_SIZE of the
// TIFF metadata domain), recorded in testdata/tiles.json.
type goldenTile struct {
	Image, Row, Col int
	Start, End      int64
}

func readGolden(t *testing.T) map[string][]goldenTile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g map[string][]goldenTile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestParseMatchesGDAL parses files written by GDAL (a little-endian COG
// with overviews, a big-endian BigTIFF) and checks every tile against what
// GDAL itself says of them.
func TestParseMatchesGDAL(t *testing.T) {
	golden := readGolden(t)
	for _, tc := range []struct {
		file   string
		images int
		grids  [][2]int // tiles across and down of each image
	}{
		{"small.tif", 3, [][2]int{{4, 3}, {2, 2}, {1, 1}}}, // 1000x700, 256 px tiles, overviews 500x350 and 250x175
		{"big-be.tif", 1, nil},                             // BigTIFF, big-endian, no overviews
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			want := golden[tc.file]
			if l.Images() != tc.images || l.Tiles() != len(want) {
				t.Fatalf("images %d tiles %d, want %d and %d", l.Images(), l.Tiles(), tc.images, len(want))
			}
			for _, g := range want {
				tile, ok := l.Tile(g.Image, g.Row, g.Col)
				if !ok || tile.Start != g.Start || tile.End != g.End {
					t.Errorf("Tile(%d,%d,%d) = %+v %v, want bytes %d-%d", g.Image, g.Row, g.Col, tile, ok, g.Start, g.End)
				}
				for _, off := range []int64{g.Start, (g.Start + g.End) / 2, g.End - 1} {
					at, ok := l.TileAt(off)
					if !ok || at.Image != g.Image || at.Row != g.Row || at.Col != g.Col {
						t.Errorf("TileAt(%d) = %+v %v, want image %d row %d col %d", off, at, ok, g.Image, g.Row, g.Col)
					}
				}
			}
			lowest := want[0]
			for _, g := range want {
				if g.Start < lowest.Start {
					lowest = g
				}
			}
			if first, ok := l.First(); !ok || first.Start != lowest.Start || first.Image != lowest.Image {
				t.Errorf("First() = %+v %v, want the tile at %d (image %d)", first, ok, lowest.Start, lowest.Image)
			}
			if _, ok := l.TileAt(0); ok {
				t.Error("TileAt(0) (the header) found a tile")
			}
			if _, ok := l.Tile(0, 99, 0); ok {
				t.Error("Tile(0, 99, 0) found a tile")
			}
			if _, ok := l.Tile(tc.images, 0, 0); ok {
				t.Error("Tile of a missing image found a tile")
			}
			for img, g := range tc.grids {
				if a, d, ok := l.Grid(img); !ok || a != g[0] || d != g[1] {
					t.Errorf("Grid(%d) = %d, %d, %v, want %d x %d", img, a, d, ok, g[0], g[1])
				}
			}
			if _, _, ok := l.Grid(tc.images); ok {
				t.Error("Grid of a missing image is ok")
			}
		})
	}
}

// TestParseNotTiled: files without tiles say so with ErrNotTiled.
func TestParseNotTiled(t *testing.T) {
	striped, err := os.ReadFile(filepath.Join("testdata", "striped.tif"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"striped TIFF", striped},
		{"empty", nil},
		{"short", []byte("II*")},
		{"JPEG", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")},
		{"bad version", []byte("II\x2b\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, ErrNotTiled) {
				t.Fatalf("err = %v, want ErrNotTiled", err)
			}
		})
	}
}

// headOnly is a ReaderAt of a file of which only the first n bytes are
// available (the rest is not fetched yet).
type headOnly struct {
	data []byte
	n    int64
}

var errMissing = errors.New("not fetched")

func (h headOnly) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > h.n {
		return 0, errMissing
	}
	return copy(p, h.data[off:]), nil
}

// TestParsePartial: with only part of the head available Parse fails with
// the reader's error (so the caller can retry), and succeeds once the IFDs
// and tile arrays are there.
func TestParsePartial(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "small.tif"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(headOnly{data, 100}, int64(len(data))); !errors.Is(err, errMissing) {
		t.Fatalf("first 100 bytes: err = %v, want the reader's error", err)
	}
	if _, err := Parse(headOnly{data, 16 << 10}, int64(len(data))); err != nil {
		t.Fatalf("first 16 KiB: %v", err)
	}
}

// TestParseCorrupt: damaged IFDs give errors, never a panic or a loop.
func TestParseCorrupt(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "small.tif"))
	if err != nil {
		t.Fatal(err)
	}
	loop := bytes.Clone(data)
	// Point the first IFD's next-IFD offset back at itself.
	first := int64(loop[4]) | int64(loop[5])<<8 | int64(loop[6])<<16 | int64(loop[7])<<24
	n := int64(loop[first]) | int64(loop[first+1])<<8
	at := first + 2 + n*12
	copy(loop[at:], loop[4:8])
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"IFD loop", loop},
		{"IFD past the end", append([]byte("II*\x00\xff\xff\xff\x00"), make([]byte, 64)...)},
		{"no entries", append([]byte("II*\x00\x08\x00\x00\x00"), make([]byte, 64)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(bytes.NewReader(tc.data), int64(len(tc.data))); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"small.tif", "big-be.tif"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4096)])
	}
	f.Add([]byte("MM\x00\x2a\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for off := int64(0); off < int64(len(data)); off += 97 {
			if tile, ok := l.TileAt(off); ok && (tile.Start > off || tile.End <= tile.Start || tile.End > int64(len(data))) {
				t.Fatalf("TileAt(%d) = %+v", off, tile)
			}
		}
	})
}

// Example: the full-resolution tile at row 1, column 2 of a COG.
func ExampleLayout_Tile() {
	f, err := os.Open(filepath.Join("testdata", "small.tif"))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	l, err := Parse(io.NewSectionReader(f, 0, st.Size()), st.Size())
	if err != nil {
		panic(err)
	}
	tile, _ := l.Tile(0, 1, 2)
	fmt.Println(l.Images(), "images;", "tile", tile.Row, tile.Col, "is", tile.End-tile.Start > 0)
	// Output: 3 images; tile 1 2 is true
}
