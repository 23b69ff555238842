package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// The zip row: gdalinfo, then a 1024×1024 window, of the bench GeoTIFF
// stored in a 500 MiB SAFE-like zip product, through a fresh stacfs mount
// (the zip's folder) against GDAL's /vsizip//vsicurl/URL/member. Both go
// through the shaped proxy and both read the archive's central directory
// in the measured run.

const (
	rowZip      = "zip-window"
	zipColl     = "sentinel-2-l1c-bench-zip"
	zipID       = "S2B_MSIL1C_20240314T105629_N0510_R094_T31UFT_20240314T112711"
	zipPath     = "/data/zip/" + zipID + ".SAFE.zip"
	zipTotal    = 500 << 20
	zipFillers  = 4 // stored members of ramp bytes that fill the archive up to zipTotal
	zipTiffName = "T31UFT_20240314T105629_B04.tif"
)

func init() {
	rowTitles[rowZip] = "cold `gdalinfo` + 1024×1024 window of a GeoTIFF stored in a 500 MiB zip"
	rowOrder = append(rowOrder, rowZip)
}

// zipMember is the GeoTIFF's path inside the archive.
func zipMember() string {
	return zipID + ".SAFE/GRANULE/L1C_T31UFT_A036585_20240314T105629/IMG_DATA/" + zipTiffName
}

// addZipProduct serves a 500 MiB zip holding the COG (stored) and adds an
// item in its own collection whose one asset is that zip, through the proxy.
func (s *servers) addZipProduct(cog []byte, proxyBase string) (int64, error) {
	root := zipID + ".SAFE/"
	entries := []fakestac.ZipEntry{{Name: root + "manifest.safe", Data: fakestac.AuxText(200 << 10), Deflate: true}}
	fill := max(int64(zipTotal)-int64(len(cog))-(1<<20), 0) / zipFillers
	for i := range zipFillers {
		name := fmt.Sprintf("%sGRANULE/L1C_T31UFT_A036585_20240314T105629/IMG_DATA/T31UFT_20240314T105629_B%02d.jp2", root, i+1)
		entries = append(entries, fakestac.ZipEntry{Name: name, Data: fakestac.RampBytes(i, 0, fill)})
	}
	entries = append(entries,
		fakestac.ZipEntry{Name: zipMember(), Data: cog},
		fakestac.ZipEntry{Name: root + "AUX_DATA/AUX_ECMWFT", Data: fakestac.AuxText(4 << 20), Deflate: true})
	zip, err := fakestac.BuildZip(entries, itemTime)
	if err != nil {
		return 0, err
	}
	s.assets.AddAsset(fakestac.Asset{Path: zipPath, Content: zip, Type: "application/zip"})
	s.stac.AddCollection(fakestac.Collection{
		ID: zipColl, Title: "Sentinel-2 L1C SAFE zips (benchmark)",
		Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 3, 31, 23, 59, 59, 0, time.UTC),
	})
	t := itemTime
	s.stac.AddItem(fakestac.Item{
		ID: zipID, Collection: zipColl, Datetime: &t,
		Assets: map[string]fakestac.Asset{
			"product": {Href: proxyBase + zipPath, Size: int64(len(zip)), FileSize: true, Type: "application/zip",
				Title: "Zipped SAFE product", Roles: []string{"data"}},
		},
	})
	return int64(len(zip)), nil
}

// zipRows measures the zip row once: stacfs on a fresh mount (walked to the
// day folder before timing, so the item's listing, the zip's listing and
// the reads are timed), then GDAL /vsizip//vsicurl/.
func (b *bench) zipRows(ctx context.Context) error {
	x, y := b.window()
	script := `gdalinfo "$1" >/dev/null && gdal_translate -q -srcwin "$2" "$3" 1024 1024 "$1" "$4"`
	argv := func(f string) []string { return []string{"sh", "-c", script, rowZip, f, x, y, b.out("window.tif")} }
	day := filepath.Join(zipColl, itemTime.Format("2006/01/02"))
	m, err := b.mountStacfsWalk(ctx, day)
	if err != nil {
		return fmt.Errorf("stacfs mount: %w", err)
	}
	member := filepath.Join(m.file, zipID, zipID+".SAFE", filepath.FromSlash(zipMember()))
	_, err = b.measure(ctx, rowZip, "stacfs", m, argv(member), nil)
	if e := m.stop(); err == nil && e != nil {
		err = fmt.Errorf("%v\n%s", e, m.stderr)
	}
	if err != nil {
		return fmt.Errorf("stacfs: %w", err)
	}
	vsi := "/vsizip//vsicurl/" + b.srv.zipURL + "/" + zipMember()
	_, err = b.measure(ctx, rowZip, "baseline", nil, argv(vsi), []string{"GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR"})
	return err
}
