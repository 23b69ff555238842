package fakestac

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"
)

// Bytes and footprints shared by the demo catalog and the provider scenarios.

// Real Cloud-Optimized GeoTIFFs made by testdata/gen.sh (see testdata/README.md).
var (
	//go:embed testdata/s2_B04.tif
	demoB04 []byte
	//go:embed testdata/s2_B08.tif
	demoB08 []byte
	//go:embed testdata/ts_NDVI.tif
	demoNDVI []byte
	//go:embed testdata/bio_abs.tif
	demoBiomass []byte
)

const (
	cogType  = "image/tiff; application=geotiff; profile=cloud-optimized"
	tiffType = "image/tiff; application=geotiff"
)

// The footprint of the demo S2 COGs (from gdalinfo), and one tile further north.
var (
	bbox31UFS = []float64{4.435991, 51.348410, 4.586160, 51.442352}
	bbox31UFT = []float64{4.435991, 51.440410, 4.586160, 51.534352}
)

// mustTime parses an RFC 3339 time or panics (fixed fixture times).
func mustTime(v string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		panic(err)
	}
	return &t
}

// quicklook returns a small grey PNG with a pattern that depends on seed.
func quicklook(w, h, seed int) ([]byte, error) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := (x*3 + y*5 + seed*37 + (x*y)/(seed+7)) % 256
			img.SetGray(x, y, color.Gray{Y: uint8(v)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("quicklook: %w", err)
	}
	return buf.Bytes(), nil
}

// annotation returns a small XML annotation file for a BIOMASS demo product.
func annotation(id, productType string, start, end time.Time) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<productAnnotation>
  <productId>%s</productId>
  <mission>BIOMASS</mission>
  <productType>%s</productType>
  <startTime>%s</startTime>
  <stopTime>%s</stopTime>
  <note>fakestac demo product: the measurement is a synthetic Cloud-Optimized GeoTIFF</note>
</productAnnotation>
`, id, productType, stamp(start), stamp(end))
}

// zipProduct returns a zip of files (stored, not compressed) under the folder id/, in the
// given order, with fixed times.
func zipProduct(id string, mod time.Time, files map[string][]byte, order []string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range order {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: id + "/" + name, Method: zip.Store, Modified: mod.Truncate(time.Second)})
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", id, err)
		}
		if _, err := f.Write(files[name]); err != nil {
			return nil, fmt.Errorf("zip %s: %w", id, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip %s: %w", id, err)
	}
	return buf.Bytes(), nil
}
