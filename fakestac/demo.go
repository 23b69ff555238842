package fakestac

import (
	_ "embed"
	"fmt"
	"strings"
	"time"
)

// Demo collection ids.
const (
	DemoSentinel2  = "sentinel-2-l2a-demo"
	DemoBiomass    = "BiomassLevel1b-demo"
	DemoTerrascope = "terrascope-demo"
)

// NewDemo starts the built-in demo catalog: a Server (PagingToken, numberMatched, GET and
// POST search, prefix /stac) holding real COGs, deterministic to the byte.
//
// sentinel-2-l2a-demo (Earth Search look): items S2A_31UFS_20230415_0_L2A,
// S2B_31UFS_20230822_0_L2A, S2A_31UFS_20231107_0_L2A, S2B_31UFS_20240120_0_L2A,
// S2A_31UFS_20240612_0_L2A and S2B_31UFT_20240612_0_L2A (two on one day); assets B04 and
// B08 (1024x1024 UInt16 COGs, EPSG:32631) and thumbnail (PNG) at
// /data/sentinel-cogs/sentinel-s2-l2a-cogs/31/U/<sq>/<YYYY>/<M>/<ID>/{B04.tif,B08.tif,thumbnail.png}.
// B04 always has file:size, B08 and thumbnail on every other item.
//
// BiomassLevel1b-demo (ESA MAAP look): three L1b frames with fractional-second datetimes on
// 2025-07-03 (two) and 2025-08-14, and one L2-like product whose start/end span
// 2025-07-10..2025-07-23. Assets at /data/maap/BiomassLevel1b/YYYY/MM/DD/<ID>/<ID>/:
// enclosure_tiff measurement/<id>_abs.tiff (a 512x512 Float32 COG, EPSG:4326; _agb.tiff for
// the L2 product), enclosure_annot_xml annotation/<id>.xml, quicklook_png
// preview/<id>_ql.png (all with file:size; <id> is the lower-case item id), and product at
// /data/zipper/<ID>.zip: a real zip of those three files, served chunked with no length and
// no Range.
//
// terrascope-demo (Terrascope look): S2B_20240315T104649_31UFS_NDVI_V210 and
// S2A_20240402T105031_31UFS_NDVI_V210, with datetime null and start_datetime =
// end_datetime; asset keys are file names (<ID>_NDVI_20M.tif, a 512x512 Byte COG, and
// <ID>_QUICKLOOK.png), no file:size, served at
// /download/Sentinel2/NDVI_V2/YYYY/MM/DD/<ID>/<file>, with an "MEP" alternate that is a
// local path, as on Terrascope.
func NewDemo() (*Server, error) {
	s := New(Options{Paging: PagingToken, NumberMatched: true})
	if err := addDemo(s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func addDemo(s *Server) error {
	s.AddCollection(Collection{
		ID:          DemoSentinel2,
		Title:       "Sentinel-2 Level-2A (demo)",
		Description: "Sentinel-2 L2A surface reflectance over Antwerp, demo copies of B04 and B08",
		Start:       time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
		Bbox:        []float64{4.43, 51.34, 4.59, 51.54},
	})
	s.AddCollection(Collection{
		ID:          DemoBiomass,
		Title:       "BIOMASS Level 1b (demo)",
		Description: "BIOMASS L1b SCS frames and an L2 product in the ESA MAAP layout",
		Start:       time.Date(2025, 4, 29, 0, 0, 0, 0, time.UTC),
		Bbox:        []float64{11.0, -1.0, 12.0, 0.0},
	})
	s.AddCollection(Collection{
		ID:          DemoTerrascope,
		Title:       "Terrascope Sentinel-2 NDVI V2 (demo)",
		Description: "Terrascope-style items: datetime null, asset keys equal to file names",
		Start:       time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		End:         time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC),
		Bbox:        []float64{4.43, 51.34, 4.59, 51.45},
	})
	if err := addSentinel2(s); err != nil {
		return err
	}
	if err := addBiomass(s); err != nil {
		return err
	}
	return addTerrascope(s)
}

func addSentinel2(s *Server) error {
	for i, d := range []struct {
		sat, square, when string
		cloud             float64
	}{
		{"S2A", "FS", "2023-04-15T10:46:29.024000Z", 12.5},
		{"S2B", "FS", "2023-08-22T10:36:21.024000Z", 3.1},
		{"S2A", "FS", "2023-11-07T10:56:19.024000Z", 41.0},
		{"S2B", "FS", "2024-01-20T10:53:09.024000Z", 27.8},
		{"S2A", "FS", "2024-06-12T10:46:31.024000Z", 0.4},
		{"S2B", "FT", "2024-06-12T10:46:35.524000Z", 1.9},
	} {
		t := mustTime(d.when)
		id := fmt.Sprintf("%s_31U%s_%s_0_L2A", d.sat, d.square, t.Format("20060102"))
		dir := fmt.Sprintf("/data/sentinel-cogs/sentinel-s2-l2a-cogs/31/U/%s/%d/%d/%s/",
			d.square, t.Year(), int(t.Month()), id)
		thumb, err := quicklook(64, 64, i)
		if err != nil {
			return err
		}
		bbox := bbox31UFS
		if d.square == "FT" {
			bbox = bbox31UFT
		}
		odd := i%2 == 1
		s.AddItem(Item{
			ID:         id,
			Collection: DemoSentinel2,
			Datetime:   t,
			Bbox:       bbox,
			Properties: map[string]any{
				"platform":               map[string]string{"S2A": "sentinel-2a", "S2B": "sentinel-2b"}[d.sat],
				"constellation":          "sentinel-2",
				"instruments":            []string{"msi"},
				"eo:cloud_cover":         d.cloud,
				"proj:epsg":              32631,
				"mgrs:utm_zone":          31,
				"mgrs:latitude_band":     "U",
				"mgrs:grid_square":       d.square,
				"s2:processing_baseline": "05.10",
			},
			Assets: map[string]Asset{
				"B04": {Path: dir + "B04.tif", Content: demoB04, FileSize: true, Type: cogType,
					Title: "Red (band 4) - 10m", Roles: []string{"data", "reflectance"}},
				"B08": {Path: dir + "B08.tif", Content: demoB08, FileSize: odd, Type: cogType,
					Title: "NIR 1 (band 8) - 10m", Roles: []string{"data", "reflectance"}},
				"thumbnail": {Path: dir + "thumbnail.png", Content: thumb, FileSize: !odd,
					Type: "image/png", Title: "Thumbnail image", Roles: []string{"thumbnail"}},
			},
		})
	}
	return nil
}

func addBiomass(s *Server) error {
	for i, d := range []struct {
		id, start, end string
		l2             bool
		bbox           []float64
	}{
		{"BIO_S1_SCS__1S_20250703T083015_20250703T083036_T_G01_M01_C01_T010_F050_01_DEMO01",
			"2025-07-03T08:30:15.123456Z", "2025-07-03T08:30:36.789012Z", false,
			[]float64{11.5, -0.506, 11.756, -0.25}},
		{"BIO_S1_SCS__1S_20250703T083036_20250703T083057_T_G01_M01_C01_T010_F051_01_DEMO02",
			"2025-07-03T08:30:36.789012Z", "2025-07-03T08:30:57.456789Z", false,
			[]float64{11.49, -0.762, 11.746, -0.506}},
		{"BIO_S1_SCS__1S_20250814T174410_20250814T174431_T_G02_M02_C01_T011_F050_01_DEMO03",
			"2025-08-14T17:44:10.500000Z", "2025-08-14T17:44:31.250000Z", false,
			[]float64{11.52, -0.49, 11.776, -0.234}},
		{"BIO_FP_AGB_L2A_20250710T061200_20250723T061200_T_G01_M01_C01_T010_F050_01_DEMO04",
			"2025-07-10T06:12:00.250000Z", "2025-07-23T06:12:00.250000Z", true,
			[]float64{11.0, -1.0, 12.0, 0.0}},
	} {
		start, end := mustTime(d.start), mustTime(d.end)
		low := strings.ToLower(d.id)
		dir := fmt.Sprintf("/data/maap/BiomassLevel1b/%s/%s/%s/", start.Format("2006/01/02"), d.id, d.id)
		tiffName, productType := "measurement/"+low+"_abs.tiff", "S1_SCS__1S"
		if d.l2 {
			tiffName, productType = "measurement/"+low+"_agb.tiff", "FP_AGB_L2A"
		}
		xmlName, qlName := "annotation/"+low+".xml", "preview/"+low+"_ql.png"
		annot := annotation(d.id, productType, *start, *end)
		ql, err := quicklook(128, 128, 10+i)
		if err != nil {
			return err
		}
		product, err := zipProduct(d.id, *start, map[string][]byte{
			tiffName: demoBiomass, xmlName: annot, qlName: ql,
		}, []string{tiffName, xmlName, qlName})
		if err != nil {
			return err
		}
		s.AddItem(Item{
			ID:         d.id,
			Collection: DemoBiomass,
			Datetime:   start,
			Start:      start,
			End:        end,
			Bbox:       d.bbox,
			Properties: map[string]any{
				"platform":          "biomass",
				"instruments":       []string{"P-SAR"},
				"product:type":      productType,
				"sat:orbit_state":   "ascending",
				"sar:polarizations": []string{"HH", "HV", "VH", "VV"},
			},
			Assets: map[string]Asset{
				"enclosure_tiff": {Path: dir + tiffName, Content: demoBiomass, FileSize: true,
					Type: tiffType, Title: "Measurement", Roles: []string{"data"}},
				"enclosure_annot_xml": {Path: dir + xmlName, Content: annot, FileSize: true,
					Type: "application/xml", Title: "Annotation", Roles: []string{"metadata"}},
				"quicklook_png": {Path: dir + qlName, Content: ql, FileSize: true,
					Type: "image/png", Title: "Quicklook", Roles: []string{"overview"}},
				"product": {Path: "/data/zipper/" + d.id + ".zip", Content: product, NoLength: true,
					Type: "application/zip", Title: "Zipped product", Roles: []string{"data"}},
			},
		})
	}
	return nil
}

func addTerrascope(s *Server) error {
	for i, d := range []struct{ sat, when string }{
		{"S2B", "2024-03-15T10:46:49.024000Z"},
		{"S2A", "2024-04-02T10:50:31.024000Z"},
	} {
		t := mustTime(d.when)
		id := fmt.Sprintf("%s_%s_31UFS_NDVI_V210", d.sat, t.Format("20060102T150405"))
		rel := fmt.Sprintf("Sentinel2/NDVI_V2/%s/%s/", t.Format("2006/01/02"), id)
		tif, qlName := id+"_NDVI_20M.tif", id+"_QUICKLOOK.png"
		ql, err := quicklook(96, 96, 20+i)
		if err != nil {
			return err
		}
		var dt *time.Time
		if i == 1 {
			dt = t // the second one has a datetime too, like most Terrascope collections
		}
		s.AddItem(Item{
			ID:         id,
			Collection: DemoTerrascope,
			Datetime:   dt,
			Start:      t,
			End:        t,
			Bbox:       bbox31UFS,
			Properties: map[string]any{
				"title":         id,
				"platform":      map[string]string{"S2A": "sentinel-2a", "S2B": "sentinel-2b"}[d.sat],
				"constellation": "sentinel-2",
				"instruments":   []string{"msi"},
			},
			Assets: map[string]Asset{
				tif: {Path: "/download/" + rel + tif, Content: demoNDVI, Type: tiffType,
					Title: "NDVI", Roles: []string{"data"},
					Alternates: map[string]string{"MEP": "/data/MTDA/TERRASCOPE_Sentinel2/NDVI_V2/" +
						strings.TrimPrefix(rel, "Sentinel2/NDVI_V2/") + tif}},
				qlName: {Path: "/download/" + rel + qlName, Content: ql, Type: "image/png",
					Title: "Quicklook", Roles: []string{"thumbnail"}},
			},
		})
	}
	return nil
}
