package fakestac

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Container products: zip archives (SAFE and friends) and Zarr stores,
// served like any asset (Range, ETag, request counters).

// ZipEntry is a member of a zip built by BuildZip.
type ZipEntry struct {
	Name    string // slash-separated; a name ending in "/" is a folder entry
	Data    []byte
	Deflate bool // compress (else stored)
	// Encrypted marks the member encrypted (flag bit 0; the bytes are
	// stored as given): readers must refuse it.
	Encrypted bool
}

// BuildZip writes entries, in order, into a zip archive with archive/zip;
// every member is modified at mod (whole seconds).
func BuildZip(entries []ZipEntry, mod time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Store, Modified: mod.Truncate(time.Second)}
		if e.Deflate {
			h.Method = zip.Deflate
		}
		var w io.Writer
		var err error
		if e.Encrypted {
			h.Flags |= 0x1
			h.CompressedSize64, h.UncompressedSize64 = uint64(len(e.Data)), uint64(len(e.Data))
			w, err = zw.CreateRaw(h)
		} else {
			w, err = zw.CreateHeader(h)
		}
		if err == nil {
			_, err = w.Write(e.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}

// DemoGeoTIFF returns the demo's Sentinel-2 red band: a real 1024x1024
// UInt16 Cloud-Optimized GeoTIFF (tiled, with overviews).
func DemoGeoTIFF() []byte { return demoB04 }

// SAFEEntries returns the members of a SAFE-like product <id>.SAFE/: a
// deflated manifest.safe (XML), a stored GeoTIFF in
// GRANULE/<id>/IMG_DATA/<id>_B04.tif, a deflated auxiliary file of auxSize
// bytes of compressible text in AUX_DATA/, and the folder entries.
func SAFEEntries(id string, tiff []byte, auxSize int) []ZipEntry {
	root := id + ".SAFE/"
	manifest := fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1">
  <metadataSection><metadataObject ID="platform"><identifier>%s</identifier></metadataObject></metadataSection>
  <dataObjectSection><dataObject ID="IMG_DATA_Band_B04"><fileLocation href="./GRANULE/%s/IMG_DATA/%s_B04.tif"/></dataObject></dataObjectSection>
</xfdu:XFDU>
`, id, id, id)
	return []ZipEntry{
		{Name: root},
		{Name: root + "manifest.safe", Data: manifest, Deflate: true},
		{Name: root + "GRANULE/"},
		{Name: root + "GRANULE/" + id + "/"},
		{Name: root + "GRANULE/" + id + "/IMG_DATA/"},
		{Name: root + "GRANULE/" + id + "/IMG_DATA/" + id + "_B04.tif", Data: tiff},
		{Name: root + "AUX_DATA/"},
		{Name: root + "AUX_DATA/AUX_ECMWFT.xml", Data: AuxText(auxSize), Deflate: true},
	}
}

// AuxText returns n bytes of compressible, non-repeating text (an
// auxiliary data file: deflates to about a third).
func AuxText(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 64)
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "<v t=\"%d\">%d.%02d</v>\n", x%86400, x%997, x%100)
	}
	return b.Bytes()[:n]
}

// AddStore serves the files of a store (a Zarr store written to disk, or
// any folder), each at prefix + "/" + its slash path, with Range support.
// It returns the number of files served.
func (s *Server) AddStore(prefix string, dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s.AddAsset(Asset{Path: strings.TrimSuffix(prefix, "/") + "/" + filepath.ToSlash(rel), Content: b})
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("store %s: %w", dir, err)
	}
	return n, nil
}
