package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// fixture is a small catalog with every shape the tree must handle.
type fixture struct {
	srv   *fakestac.Server
	items map[string]fakestac.Item // by id
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// Asset sizes of the fixture.
const (
	bigSize   = 3<<20 + 12345 // several blocks, last one short
	smallSize = 200 << 10
)

func newFixture(t *testing.T, o fakestac.Options) *fixture {
	t.Helper()
	s := fakestac.New(o)
	t.Cleanup(s.Close)
	f := &fixture{srv: s, items: map[string]fakestac.Item{}}
	s.AddCollection(fakestac.Collection{ID: "S2", Title: "Sentinel-2", Start: *ts("2023-01-01T00:00:00Z")})
	s.AddCollection(fakestac.Collection{ID: "EOP:ESA:BIO", Title: "Biomass", Start: *ts("2023-04-01T00:00:00Z"), End: *ts("2023-12-31T23:59:59Z")})
	s.AddCollection(fakestac.Collection{ID: "EMPTY", Start: *ts("2020-01-01T00:00:00Z"), End: *ts("2021-12-31T00:00:00Z")})

	s2 := func(id string, dt *time.Time, seed int) fakestac.Item {
		base := fmt.Sprintf("/data/s2/%s/", id)
		return fakestac.Item{
			ID: id, Collection: "S2", Datetime: dt, Bbox: []float64{3, 50, 4, 51},
			Assets: map[string]fakestac.Asset{
				"B04":       {Path: base + "B04.tif", Type: "image/tiff; application=geotiff", Roles: []string{"data"}, Size: bigSize, Seed: seed, FileSize: true},
				"B08":       {Path: base + "B08.tif", Type: "image/tiff; application=geotiff", Roles: []string{"data"}, Size: smallSize, Seed: seed + 1},
				"thumbnail": {Path: base + "thumb.png", Type: "image/png", Roles: []string{"thumbnail"}, Size: 50 << 10, Seed: seed + 2, NoRange: true, FileSize: true},
			},
		}
	}
	add := func(it fakestac.Item) {
		s.AddItem(it)
		f.items[it.ID] = it
	}
	add(s2("S2A_20230315_a", ts("2023-03-15T10:20:30.123456Z"), 1))
	add(s2("S2B_20230315_b", ts("2023-03-15T23:59:59.999Z"), 11))
	add(s2("S2A_20240101_c", ts("2024-01-01T00:00:00Z"), 21))
	nullItem := s2("S2_null_dt", nil, 31)
	nullItem.Start, nullItem.End = ts("2024-02-10T05:00:00Z"), ts("2024-02-12T05:00:00Z")
	add(nullItem)
	for i := range 12 {
		add(s2(fmt.Sprintf("S2_page_%02d", i), ts(fmt.Sprintf("2024-06-07T%02d:00:00Z", i)), 100+i))
	}

	esa := func(id string, dt, start, end *time.Time, seed int) fakestac.Item {
		dir := fmt.Sprintf("/data/maap/BIO/2023/05/05/%s/%s/", id, id)
		return fakestac.Item{
			ID: id, Collection: "EOP:ESA:BIO", Datetime: dt, Start: start, End: end,
			Assets: map[string]fakestac.Asset{
				"enclosure_tiff":      {Path: dir + "measurement/bio_abs.tiff", Size: 20000, Seed: seed, FileSize: true},
				"enclosure_annot_xml": {Path: dir + "annotation/bio_annot.xml", Size: 4000, Seed: seed + 1, FileSize: true},
				"quicklook_png":       {Path: dir + "preview/bio_ql.png", Size: 3000, Seed: seed + 2, FileSize: true},
				"product":             {Path: "/data/zipper/" + id + ".zip", Size: 9000, Seed: seed + 3, NoLength: true},
			},
		}
	}
	add(esa("BIO_L1B_0505", ts("2023-05-05T12:00:00.5Z"), nil, nil, 200))
	// An L2 product spanning weeks: placed on its start day, matched by
	// overlap for every day it spans.
	add(esa("BIO_L2A_0501", nil, ts("2023-05-01T00:00:01Z"), ts("2023-05-20T00:00:00Z"), 300))
	return f
}
