package fakestac

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newClient(t)

	p := getPage(t, c, "GET", s.STACURL+"collections", nil)
	if got, want := p.ids(), []string{DemoSentinel2, DemoBiomass, DemoTerrascope}; !slices.Equal(got, want) {
		t.Fatalf("collections %v, want %v", got, want)
	}
	counts := map[string]int{DemoSentinel2: 6, DemoBiomass: 4, DemoTerrascope: 2}
	for coll, n := range counts {
		p := getPage(t, c, "GET", s.STACURL+"search?limit=100&collections="+coll, nil)
		if len(p.Features) != n {
			t.Errorf("%s: %d items, want %d", coll, len(p.Features), n)
		}
		years := map[string]bool{}
		for _, f := range p.Features {
			for key, a := range f.Assets {
				if !strings.HasPrefix(a.Href, s.URL+"/") {
					t.Errorf("%s %s: href %s not on the server", f.ID, key, a.Href)
					continue
				}
				resp, err := c.Head(a.Href)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("HEAD %s: %v %v", a.Href, resp, err)
					continue
				}
				resp.Body.Close()
				if a.FileSize != nil && *a.FileSize != resp.ContentLength {
					t.Errorf("%s: file:size %d, Content-Length %d", a.Href, *a.FileSize, resp.ContentLength)
				}
			}
			if dt, ok := f.Properties["datetime"].(string); ok {
				years[dt[:4]] = true
			}
		}
		if coll == DemoSentinel2 && len(years) != 2 {
			t.Errorf("sentinel-2 years %v", years)
		}
	}

	// The COGs are real TIFFs, served with ranges.
	for _, path := range []string{
		"/data/sentinel-cogs/sentinel-s2-l2a-cogs/31/U/FS/2024/1/S2B_31UFS_20240120_0_L2A/B04.tif",
		"/data/sentinel-cogs/sentinel-s2-l2a-cogs/31/U/FS/2024/1/S2B_31UFS_20240120_0_L2A/B08.tif",
		"/data/maap/BiomassLevel1b/2025/07/03/" +
			"BIO_S1_SCS__1S_20250703T083015_20250703T083036_T_G01_M01_C01_T010_F050_01_DEMO01/" +
			"BIO_S1_SCS__1S_20250703T083015_20250703T083036_T_G01_M01_C01_T010_F050_01_DEMO01/measurement/" +
			"bio_s1_scs__1s_20250703t083015_20250703t083036_t_g01_m01_c01_t010_f050_01_demo01_abs.tiff",
		"/download/Sentinel2/NDVI_V2/2024/03/15/S2B_20240315T104649_31UFS_NDVI_V210/S2B_20240315T104649_31UFS_NDVI_V210_NDVI_20M.tif",
	} {
		code, _, b := do(t, c, "GET", s.URL+path, nil, map[string]string{"Range": "bytes=0-15"})
		if code != 206 || len(b) != 16 || !bytes.HasPrefix(b, []byte("II*\x00")) {
			t.Errorf("%s: %d %q", path, code, b)
		}
	}

	// The product zip: chunked, and a real zip of the product's files.
	const id = "BIO_FP_AGB_L2A_20250710T061200_20250723T061200_T_G01_M01_C01_T010_F050_01_DEMO04"
	resp, err := c.Get(s.URL + "/data/zipper/" + id + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	zb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.ContentLength != -1 || resp.Header.Get("Accept-Ranges") != "" {
		t.Fatalf("zip: %v, length %d, Accept-Ranges %q", err, resp.ContentLength, resp.Header.Get("Accept-Ranges"))
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if len(names) != 3 || !strings.HasSuffix(names[0], "_agb.tiff") || !strings.HasPrefix(names[1], id+"/annotation/") {
		t.Errorf("zip holds %v", names)
	}

	// A one-day search finds the L2 product of other days (interval overlap).
	p = getPage(t, c, "GET", s.STACURL+"search?collections="+DemoBiomass+"&datetime=2025-07-15T00:00:00Z/2025-07-15T23:59:59Z", nil)
	if got := p.ids(); !slices.Equal(got, []string{id}) {
		t.Errorf("2025-07-15: %v", got)
	}
	p = getPage(t, c, "GET", s.STACURL+"search?collections="+DemoBiomass+"&datetime=2025-07-03T00:00:00Z/2025-07-03T23:59:59Z", nil)
	if len(p.Features) != 2 {
		t.Errorf("2025-07-03: %v", p.ids())
	}
	for _, f := range p.Features {
		if dt, _ := f.Properties["datetime"].(string); !strings.HasSuffix(dt, "Z") || strings.HasSuffix(dt, ".000000Z") {
			t.Errorf("%s: datetime %q, want fractional seconds", f.ID, dt)
		}
	}

	// Terrascope: datetime null, keys are file names.
	p = getPage(t, c, "POST", s.STACURL+"search", []byte(`{"collections":["terrascope-demo"],"datetime":"2024-03-15T00:00:00Z/2024-03-16T00:00:00Z"}`))
	if len(p.Features) != 1 {
		t.Fatalf("terrascope: %v", p.ids())
	}
	f := p.Features[0]
	if dt, ok := f.Properties["datetime"]; !ok || dt != nil || f.Properties["start_datetime"] == nil {
		t.Errorf("terrascope datetime %v start %v", dt, f.Properties["start_datetime"])
	}
	for key, a := range f.Assets {
		if !strings.HasSuffix(a.Href, "/"+key) || !strings.Contains(a.Href, "/download/") || a.FileSize != nil {
			t.Errorf("terrascope asset %s: %+v", key, a)
		}
	}

	// Deterministic: a second demo serves the same versions.
	s2, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, path := range []string{"/data/zipper/" + id + ".zip", "/download/Sentinel2/NDVI_V2/2024/03/15/S2B_20240315T104649_31UFS_NDVI_V210/S2B_20240315T104649_31UFS_NDVI_V210_QUICKLOOK.png"} {
		if e1, e2 := s.AssetETag(path), s2.AssetETag(path); e1 == "" || e1 != e2 {
			t.Errorf("%s: ETags %q and %q", path, e1, e2)
		}
	}
	if resp, err := c.Get(s.STACURL + "collections/" + DemoSentinel2 + "/items/S2B_31UFT_20240612_0_L2A"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("item get: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestDemoTestdataSmall(t *testing.T) {
	files, err := filepath.Glob("testdata/*.tif")
	if err != nil || len(files) < 3 {
		t.Fatalf("%v %v", files, err)
	}
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total >= 4<<20 {
		t.Errorf("testdata COGs are %d bytes, want < 4 MiB", total)
	}
}
