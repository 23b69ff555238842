package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// Many-scene rows: a time series (one window at the same place read from 24 scenes) and a
// mosaic (a VRT over 16 adjacent COGs, then a window spanning 4 of them). The scenes are
// small COGs (sceneSize², 512 px tiles), served by the asset server through the proxy;
// their items are in the (unshaped) STAC API.
const (
	sceneSize     = 2048
	seriesScenes  = 24
	seriesProcs   = 8 // the parallel row: 8 processes, 3 scenes each
	seriesWindow  = 256
	mosaicSide    = 4 // 4×4 COGs
	mosaicWindow  = 2048
	seriesColl    = "sentinel-2-l2a-series"
	mosaicColl    = "sentinel-2-l2a-mosaic"
	seriesX       = 700 // the window's corner: off the tile grid
	seriesY       = 900
	sceneAssetKey = "red"
)

// scenes are the files of the many-scene rows.
type scenes struct {
	seriesPaths []string // mount-relative paths of the time series' files, in date order
	seriesURLs  []string // the same through the proxy
	mosaicPaths []string // mount-relative paths of the mosaic's files
	mosaicURLs  []string
}

// addScenes generates (once, cached in data) the scene COGs and adds their bytes to the
// asset server and their items to the STAC API.
func (b *bench) addScenes(ctx context.Context, data string) (*scenes, error) {
	base, err := ensureCOG(ctx, b.root, data, sceneSize)
	if err != nil {
		return nil, err
	}
	baseBytes, err := os.ReadFile(base)
	if err != nil {
		return nil, err
	}
	sc := &scenes{}
	proxyBase := "http://" + b.srv.proxy.Listen
	add := func(coll, id string, day time.Time, path string, content []byte) string {
		b.srv.assets.AddAsset(fakestac.Asset{Path: path, Content: content, Type: cogType})
		t := day.Add(10*time.Hour + 56*time.Minute)
		b.srv.stac.AddItem(fakestac.Item{
			ID: id, Collection: coll, Datetime: &t, Bbox: []float64{4.32, 51.33, 5.89, 52.34},
			Assets: map[string]fakestac.Asset{sceneAssetKey: {Href: proxyBase + path, Size: int64(len(content)), FileSize: true,
				Type: cogType, Roles: []string{"data"}}},
		})
		return filepath.Join(coll, day.Format("2006/01/02"), id, filepath.Base(path))
	}
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, coll := range []string{seriesColl, mosaicColl} {
		b.srv.stac.AddCollection(fakestac.Collection{ID: coll, Start: start, End: start.AddDate(0, 1, 0).Add(-time.Second)})
	}
	// The time series: 24 scenes of the same place, one a day (the same bytes, 24 URLs).
	for i := range seriesScenes {
		id := fmt.Sprintf("S2_SERIES_%02d", i)
		path := fmt.Sprintf("/data/series/%s/B04.tif", id)
		sc.seriesPaths = append(sc.seriesPaths, add(seriesColl, id, start.AddDate(0, 0, i), path, baseBytes))
		sc.seriesURLs = append(sc.seriesURLs, proxyBase+path)
	}
	// The mosaic: 16 adjacent tiles of one day, each its own georeferenced COG.
	day := start.AddDate(0, 0, 13)
	for r := range mosaicSide {
		for c := range mosaicSide {
			f, err := b.mosaicTile(ctx, data, base, r, c)
			if err != nil {
				return nil, err
			}
			content, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			id := fmt.Sprintf("S2_MOSAIC_R%dC%d", r, c)
			path := fmt.Sprintf("/data/mosaic/%s/B04.tif", id)
			sc.mosaicPaths = append(sc.mosaicPaths, add(mosaicColl, id, day, path, content))
			sc.mosaicURLs = append(sc.mosaicURLs, proxyBase+path)
		}
	}
	return sc, nil
}

// mosaicTile returns the COG of mosaic tile (r, c): the scene COG placed at its spot of
// the 4×4 grid (10 m pixels, UTM 31N), generated once.
func (b *bench) mosaicTile(ctx context.Context, data, base string, r, c int) (string, error) {
	p := filepath.Join(data, fmt.Sprintf("mosaic-%d-r%dc%d.tif", sceneSize, r, c))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	w := float64(sceneSize * 10)
	ulx, uly := 600000+float64(c)*w, 5700000-float64(r)*w
	cmd := exec.CommandContext(ctx, "gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "BLOCKSIZE=512",
		"-a_srs", "EPSG:32631", "-a_ullr", fmt.Sprint(ulx), fmt.Sprint(uly), fmt.Sprint(ulx+w), fmt.Sprint(uly-w), base, p+".tmp")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mosaic tile: %v\n%s", err, out)
	}
	return p, os.Rename(p+".tmp", p)
}

// seriesScript reads the seriesWindow² window at (seriesX, seriesY) from each file named
// on its command line, one after the other, in one process.
const seriesScript = `import sys
from osgeo import gdal
gdal.UseExceptions()
for f in sys.argv[3:]:
    ds = gdal.Open(f)
    ds.GetRasterBand(1).ReadAsArray(int(sys.argv[1]), int(sys.argv[2]), ` + "256, 256" + `)
    ds = None
`

// seriesArgv is the command of the one-process time series over files.
func seriesArgv(files []string) []string {
	return append([]string{"/usr/bin/python3", "-c", seriesScript, strconv.Itoa(seriesX), strconv.Itoa(seriesY)}, files...)
}

// parallelArgv runs the time series over files as seriesProcs processes at once, each
// on its share of the files, and waits for all.
func parallelArgv(files []string) []string {
	per := (len(files) + seriesProcs - 1) / seriesProcs
	var sb strings.Builder
	for i := 0; i < len(files); i += per {
		sb.WriteString(shellJoin(seriesArgv(files[i:min(i+per, len(files))])) + " & ")
	}
	sb.WriteString("wait")
	return []string{"sh", "-ec", sb.String()}
}

// mosaicArgv builds a VRT over files and translates a mosaicWindow² window centred on the
// grid's middle corner (it spans 4 COGs).
func (b *bench) mosaicArgv(files []string) []string {
	vrt := b.out("mosaic.vrt")
	off := strconv.Itoa(mosaicSide/2*sceneSize - mosaicWindow/2)
	build := append([]string{"gdalbuildvrt", "-q", vrt}, files...)
	translate := []string{"gdal_translate", "-q", "-srcwin", off, off, strconv.Itoa(mosaicWindow), strconv.Itoa(mosaicWindow), vrt, b.out("mosaic.tif")}
	return []string{"sh", "-ec", shellJoin(build) + " && " + shellJoin(translate)}
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// sceneRows measures the many-scene rows of stacfs (cold on a fresh mount, then warm from
// new processes on the same mount) and of /vsicurl/.
func (b *bench) sceneRows(ctx context.Context, sc *scenes) error {
	inMount := func(m *mounted, rel []string) []string {
		out := make([]string, len(rel))
		for i, r := range rel {
			out[i] = filepath.Join(m.dir, r)
		}
		return out
	}
	vsi := func(urls []string) []string {
		out := make([]string, len(urls))
		for i, u := range urls {
			out[i] = "/vsicurl/" + u
		}
		return out
	}
	env := []string{"GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR"}
	for _, r := range []struct {
		cold, warm string
		rel, urls  []string
		argv       func([]string) []string
	}{
		{rowSeries, rowSeriesWarm, sc.seriesPaths, sc.seriesURLs, seriesArgv},
		{rowSeries8, rowSeries8Warm, sc.seriesPaths, sc.seriesURLs, parallelArgv},
		{rowMosaic, "", sc.mosaicPaths, sc.mosaicURLs, b.mosaicArgv},
	} {
		m, err := b.mountStacfsAt(ctx, b.srv.stac.STACURL, sc.seriesPaths[0])
		if err != nil {
			return err
		}
		files := inMount(m, r.rel)
		for _, f := range files { // the metadata walk, not timed (as the single-COG rows)
			if _, err := os.Stat(f); err != nil {
				m.stop()
				return fmt.Errorf("stat %s: %v\n%s", f, err, m.stderr)
			}
		}
		_, err = b.measure(ctx, r.cold, "stacfs", m, r.argv(files), nil)
		if err == nil && r.warm != "" {
			_, err = b.measure(ctx, r.warm, "stacfs", m, r.argv(files), nil)
		}
		if e := m.stop(); err == nil && e != nil {
			err = fmt.Errorf("%v\n%s", e, m.stderr)
		}
		if err != nil {
			return err
		}
		if _, err := b.measure(ctx, r.cold, "baseline", nil, r.argv(vsi(r.urls)), env); err != nil {
			return err
		}
	}
	return nil
}
