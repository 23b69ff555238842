package tests

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cog"
	"github.com/stacfs/stacfs/fakestac"
)

// demoCOG mounts the demo catalog and returns the path of a COG in the mount
// and a local copy of the same file, fetched straight from the server.
func demoCOG(t *testing.T) (mounted, local string, srv *fakestac.Server) {
	t.Helper()
	srv, err := fakestac.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	m := startMount(t, configFor(srv, ""))
	matches, err := filepath.Glob(filepath.Join(m.Dir, "*/*/*/*/*/B04.tif"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no B04.tif in the demo mount: %v", err)
	}
	mounted = matches[0]
	resp, err := http.Get(assetHref(t, mounted))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	local = filepath.Join(t.TempDir(), "B04.tif")
	out, err := os.Create(local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return mounted, local, srv
}

// withoutPaths drops the lines of gdalinfo output that name the file.
func withoutPaths(s, path string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, path) || strings.HasPrefix(strings.TrimSpace(l), "Files:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

var checksumRe = regexp.MustCompile(`Checksum=\d+`)

// readLayout reads the local COG at path and its tile layout.
func readLayout(t *testing.T, path string) ([]byte, *cog.Layout) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := cog.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return data, layout
}

func TestGDAL(t *testing.T) {
	requireTool(t, "gdalinfo", "gdal_translate")
	mounted, local, _ := demoCOG(t)

	t.Run("gdalinfo", func(t *testing.T) {
		got := withoutPaths(run(t, "gdalinfo", "-checksum", mounted), mounted)
		want := withoutPaths(run(t, "gdalinfo", "-checksum", local), local)
		if got != want {
			t.Errorf("gdalinfo differs:\n--- mounted\n%s\n--- local\n%s", got, want)
		}
		if !strings.Contains(got, "LAYOUT=COG") && !strings.Contains(got, "Overviews") {
			t.Errorf("the demo file does not look like a COG:\n%s", got)
		}
	})
	t.Run("gdal_translate -srcwin", func(t *testing.T) {
		a, b := translateBoth(t, "window", t.TempDir(), []string{"-srcwin", "300", "200", "256", "256"}, mounted, local)
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if string(da) != string(db) {
			t.Error("window files differ")
		}
	})
	t.Run("overview thumbnail", func(t *testing.T) {
		translateBoth(t, "thumbnail", t.TempDir(), []string{"-outsize", "128", "128"}, mounted, local)
	})
}

// translateBoth runs gdal_translate with args on the mounted and on the
// local file, into dir, and fails the test unless the two outputs'
// checksums agree. It returns the outputs (mounted, local).
func translateBoth(t *testing.T, what, dir string, args []string, mounted, local string) (a, b string) {
	t.Helper()
	a, b = filepath.Join(dir, "mounted.tif"), filepath.Join(dir, "local.tif")
	run(t, "gdal_translate", append(append([]string{"-q"}, args...), mounted, a)...)
	run(t, "gdal_translate", append(append([]string{"-q"}, args...), local, b)...)
	ca := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", a), -1)
	cb := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", b), -1)
	if len(ca) == 0 || strings.Join(ca, ",") != strings.Join(cb, ",") {
		t.Errorf("%s checksums differ: mounted %v, local %v", what, ca, cb)
	}
	return a, b
}

// windowMatches reads a GDAL window (-srcwin 300 200 512 512) of the COG mounted
// at mounted, its cached pages dropped first so that stacfs serves it, and fails
// the test unless it has the checksums of the same window of want (the COG's bytes,
// fetched from its server).
func windowMatches(t *testing.T, mounted string, want []byte) {
	t.Helper()
	local := filepath.Join(t.TempDir(), "B04.tif")
	if err := os.WriteFile(local, want, 0o644); err != nil {
		t.Fatal(err)
	}
	dropPageCache(t, mounted)
	translateBoth(t, "window", t.TempDir(), []string{"-srcwin", "300", "200", "512", "512"}, mounted, local)
}

// TestGDALWindowFetchesTiles: GDAL reading a window of 3x3 tiles on a fresh
// mount costs the header and about one request per row of tiles, and
// fetches the window's tiles plus at most a row and a tile of read-ahead:
// the reads are planned from the COG's tile layout, not from GDAL's 8 KiB
// stdio reads.
func TestGDALWindowFetchesTiles(t *testing.T) {
	requireTool(t, "gdal_translate")
	mounted, local, srv := demoCOG(t)
	_, layout := readLayout(t, local)
	// The window below covers columns 1-3 and rows 0-2 of 256 px tiles.
	var need, tile int64
	for r := 0; r <= 2; r++ {
		for c := 1; c <= 3; c++ {
			tl, ok := layout.Tile(0, r, c)
			if !ok {
				t.Fatalf("no tile %d,%d", r, c)
			}
			need += tl.End - tl.Start
			tile = max(tile, tl.End-tl.Start)
		}
	}
	path := assetPathOf(t, srv, mounted)
	beforeReq, beforeBytes := srv.Count(path), srv.BytesServed(path)
	run(t, "gdal_translate", "-q", "-srcwin", "300", "200", "512", "512", mounted, filepath.Join(t.TempDir(), "w.tif"))
	waitQuiet(t, srv, path)
	reqs, got := srv.Count(path)-beforeReq, srv.BytesServed(path)-beforeBytes
	// The head block was read when the file was first opened (by demoCOG's
	// listing or by this open); then one request per row, plus the row
	// below the window (prefetched) and block rounding.
	if reqs > 5 {
		t.Errorf("%d requests for a 3x3-tile window, want at most 5", reqs)
	}
	if limit := need + 3*tile + int64(reqs)*(32<<10) + 16<<10; got > limit {
		t.Errorf("fetched %d bytes for %d bytes of tiles, want at most %d", got, need, limit)
	}
	t.Logf("window: %d requests, %d bytes for %d bytes of tiles", reqs, got, need)
}

// assetHref returns the href of the asset file mounted at mounted, from the
// item.json beside it.
func assetHref(t *testing.T, mounted string) string {
	t.Helper()
	base := filepath.Base(mounted)
	for _, h := range assetHrefs(t, filepath.Dir(mounted)) {
		if strings.HasSuffix(h, "/"+base) {
			return h
		}
	}
	t.Fatalf("no asset %s in item.json", base)
	return ""
}

// assetPathOf returns the server path of the asset file mounted at
// mounted, from its item.json.
func assetPathOf(t *testing.T, _ *fakestac.Server, mounted string) string {
	t.Helper()
	u, err := url.Parse(assetHref(t, mounted))
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// waitQuiet waits until the server has served nothing more under path for
// 300 ms (read-ahead that outlives the client counts too).
func waitQuiet(t *testing.T, srv *fakestac.Server, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, since := srv.BytesServed(path), time.Now()
	for time.Since(since) < 300*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("the server kept serving for 10 s")
		}
		time.Sleep(20 * time.Millisecond)
		if n := srv.BytesServed(path); n != last {
			last, since = n, time.Now()
		}
	}
}

// TestGDALThumbnailOfFirstTile: a thumbnail that reads a COG's smallest
// overview, stored as one tile right after the header and read gapless from
// byte 0, fetches that tile, not a copy's read-ahead. The COG is 2048x2048
// UInt16 noise (DEFLATE, 512 px tiles), made here with GDAL, so that its
// 512 px overview is one tile of more than 256 KiB.
func TestGDALThumbnailOfFirstTile(t *testing.T) {
	requireTool(t, "gdal_translate")
	const size = 2048
	dir := t.TempDir()
	noise := make([]byte, size*size*2)
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	rawPath := filepath.Join(dir, "noise.raw")
	if err := os.WriteFile(rawPath, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	vrt := fmt.Sprintf(`<VRTDataset rasterXSize="%[1]d" rasterYSize="%[1]d">
  <VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativetoVRT="1">noise.raw</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>2</PixelOffset><LineOffset>%[2]d</LineOffset>
    <ByteOrder>LSB</ByteOrder>
  </VRTRasterBand>
</VRTDataset>`, size, 2*size)
	vrtPath := filepath.Join(dir, "noise.vrt")
	if err := os.WriteFile(vrtPath, []byte(vrt), 0o644); err != nil {
		t.Fatal(err)
	}
	cogPath := filepath.Join(dir, "noise.tif")
	run(t, "gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "BLOCKSIZE=512", vrtPath, cogPath)
	data, layout := readLayout(t, cogPath)
	first, ok := layout.First()
	if !ok || first.End < 256<<10 || first.Image == 0 {
		t.Fatalf("the COG's first tile is image %d, ends at %d: want an overview past 256 KiB", first.Image, first.End)
	}

	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	srv.AddCollection(fakestac.Collection{ID: "S2", Start: *ts("2024-01-01T00:00:00Z")})
	const path = "/data/noise/B04.tif"
	srv.AddItem(fakestac.Item{ID: "noise", Collection: "S2", Datetime: ts("2024-01-02T10:00:00Z"),
		Assets: map[string]fakestac.Asset{"B04": {Path: path, Content: data, FileSize: true}}})
	m := startMount(t, configFor(srv, ""))
	file := filepath.Join(m.Dir, "S2/2024/01/02/noise/B04.tif")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	before := srv.BytesServed(path)
	// And it is the right picture.
	translateBoth(t, "thumbnail", dir, []string{"-outsize", "512", "512"}, file, cogPath)
	waitQuiet(t, srv, path)
	got := srv.BytesServed(path) - before
	// The header and the tile, rounded out to blocks, and a buffer past it.
	if limit := first.End + 64<<10; got > limit {
		t.Errorf("a thumbnail of the first tile (%d bytes from byte 0) fetched %d bytes, want at most %d (file %d)",
			first.End, got, limit, len(data))
	}
	t.Logf("thumbnail: %d bytes fetched; first tile ends at %d; file %d", got, first.End, len(data))
}
