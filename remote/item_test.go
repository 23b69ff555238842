package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestParseItemTerrascope(t *testing.T) {
	raw := fixture(t, "terrascope_item_s2_toc_v210_testresource.json")
	it, err := ParseItem(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(it.Raw, raw) {
		t.Error("Raw differs from the input")
	}
	want := time.Date(2023, 2, 20, 7, 49, 41, 24000000, time.UTC)
	if it.ID != "S2A_20230220T074941_38SKG_TOC_V210" || it.Collection != "terrascope_s2_toc_v2" {
		t.Errorf("id, collection = %q, %q", it.ID, it.Collection)
	}
	if !it.Time.Equal(want) || !it.Start.Equal(want) || !it.End.Equal(want) || it.Time.Location() != time.UTC {
		t.Errorf("times = %v %v %v", it.Time, it.Start, it.End)
	}
	if len(it.Bbox) != 4 || it.Bbox[0] != 42.3755856153577 {
		t.Errorf("bbox = %v", it.Bbox)
	}
	if len(it.Assets) != 19 {
		t.Fatalf("%d assets, want 19", len(it.Assets))
	}
	if !sort.SliceIsSorted(it.Assets, func(i, j int) bool { return it.Assets[i].Key < it.Assets[j].Key }) {
		t.Error("assets not sorted by key")
	}
	a := it.Assets[0]
	if a.Key != "S2A_20230220T074941_38SKG_AOT_60M_V210.tif" || a.Title != "AOT" || a.Size != -1 ||
		a.Type != "image/tiff; application=geotiff" ||
		!strings.HasPrefix(a.Href, "https://services.terrascope.be/download/Sentinel2/TOC_V2/2023/02/20/") ||
		!strings.HasPrefix(a.Alternates["MEP"], "/data/MTDA/TERRASCOPE_Sentinel2/") {
		t.Errorf("asset 0 = %+v", a)
	}
	for _, a := range it.Assets {
		if !strings.HasSuffix(a.Href, "/"+a.Key) {
			t.Errorf("asset %s: href %s does not end in the key", a.Key, a.Href)
		}
	}
}

func TestParseItemESA(t *testing.T) {
	it, err := ParseItem(fixture(t, "esa_maap_item_auth_extension_example_ceos_bp.json"))
	if err != nil {
		t.Fatal(err)
	}
	if it.Collection != "TropForest" || !it.Time.IsZero() || it.Bbox != nil || len(it.Assets) != 1 {
		t.Fatalf("item = %+v", it)
	}
	a := it.Assets[0]
	if a.Key != "enclosure" || a.Size != 10512689 || a.Type != "application/zip" || a.Title != "Download" ||
		len(a.Roles) != 1 || a.Roles[0] != "data" || a.Alternates != nil ||
		!strings.HasSuffix(a.Href, "E097_N025.ZIP") {
		t.Errorf("asset = %+v", a)
	}
}

func TestParseItemCases(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		err        error
		time       string // RFC3339Nano, "" = zero
		start, end string
		assets     int
		size       int64
	}{
		{name: "datetime null with start_datetime",
			raw:  `{"id":"a","properties":{"datetime":null,"start_datetime":"2024-05-01T10:00:00.123Z","end_datetime":"2024-05-20T10:00:00Z"}}`,
			time: "2024-05-01T10:00:00.123Z", start: "2024-05-01T10:00:00.123Z", end: "2024-05-20T10:00:00Z"},
		{name: "datetime wins over start_datetime",
			raw:  `{"id":"a","properties":{"datetime":"2024-05-03T00:00:00Z","start_datetime":"2024-05-01T00:00:00Z"}}`,
			time: "2024-05-03T00:00:00Z", start: "2024-05-01T00:00:00Z"},
		{name: "fractional seconds and offset to UTC",
			raw:  `{"id":"a","properties":{"datetime":"2024-05-03T01:02:03.456789+02:00"}}`,
			time: "2024-05-02T23:02:03.456789Z"},
		{name: "unparsable datetime falls back to start",
			raw:  `{"id":"a","properties":{"datetime":"yesterday","start_datetime":"2024-05-01T00:00:00Z"}}`,
			time: "2024-05-01T00:00:00Z", start: "2024-05-01T00:00:00Z"},
		{name: "no times", raw: `{"id":"a","properties":{}}`},
		{name: "mistyped fields are absent",
			raw:    `{"id":"a","bbox":"x","properties":{"datetime":5},"assets":{"k":{"href":"h","file:size":"big","roles":"data"},"bad":7}}`,
			assets: 1, size: -1},
		{name: "file:size as float", raw: `{"id":"a","assets":{"k":{"href":"h","file:size":1.5e3}}}`, assets: 1, size: 1500},
		{name: "no id", raw: `{"type":"Feature"}`, err: ErrBadResponse},
		{name: "numeric id", raw: `{"id":5}`, err: ErrBadResponse},
		{name: "not an object", raw: `[1]`, err: ErrBadResponse},
		{name: "not JSON", raw: `{`, err: ErrBadResponse},
	}
	parse := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := ParseItem([]byte(tt.raw))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !it.Time.Equal(parse(tt.time)) || !it.Start.Equal(parse(tt.start)) || !it.End.Equal(parse(tt.end)) {
				t.Errorf("times = %v %v %v", it.Time, it.Start, it.End)
			}
			if len(it.Assets) != tt.assets {
				t.Fatalf("%d assets, want %d", len(it.Assets), tt.assets)
			}
			if tt.assets > 0 && it.Assets[0].Size != tt.size {
				t.Errorf("size = %d, want %d", it.Assets[0].Size, tt.size)
			}
		})
	}
}

func TestItemTime(t *testing.T) {
	tests := []struct {
		datetime, start string
		want            time.Time
	}{
		{"2023-02-20T07:49:41.024000Z", "", time.Date(2023, 2, 20, 7, 49, 41, 24000000, time.UTC)},
		{"2023-02-20T07:49:41.123456789Z", "", time.Date(2023, 2, 20, 7, 49, 41, 123456789, time.UTC)},
		{"2023-02-20T07:49:41Z", "", time.Date(2023, 2, 20, 7, 49, 41, 0, time.UTC)},
		{"2023-02-20t07:49:41z", "", time.Date(2023, 2, 20, 7, 49, 41, 0, time.UTC)},
		{"2023-02-20T07:49:41-05:00", "", time.Date(2023, 2, 20, 12, 49, 41, 0, time.UTC)},
		{"2023-02-20T07:49:41+0100", "", time.Date(2023, 2, 20, 6, 49, 41, 0, time.UTC)},
		{"2023-02-20T07:49:41.5", "", time.Date(2023, 2, 20, 7, 49, 41, 500000000, time.UTC)},
		{"2023-02-20 07:49:41Z", "", time.Date(2023, 2, 20, 7, 49, 41, 0, time.UTC)},
		{"2023-02-20", "", time.Date(2023, 2, 20, 0, 0, 0, 0, time.UTC)},
		{"", "2023-02-21T23:30:00.000-01:00", time.Date(2023, 2, 22, 0, 30, 0, 0, time.UTC)},
		{"garbage", "2023-02-21T00:00:00Z", time.Date(2023, 2, 21, 0, 0, 0, 0, time.UTC)},
		{"", "", time.Time{}},
		{"garbage", "more garbage", time.Time{}},
	}
	for _, tt := range tests {
		got := ItemTime(tt.datetime, tt.start)
		if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("ItemTime(%q, %q) = %v, want %v", tt.datetime, tt.start, got, tt.want)
		}
	}
}

// TestParseItemFastAgrees: the one-pass decoding of listings gives the same
// item as the member-by-member one, on every item of the real responses in
// testdata and on odd shapes.
func TestParseItemFastAgrees(t *testing.T) {
	var docs [][]byte
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Features []json.RawMessage `json:"features"`
		}
		if json.Unmarshal(b, &page) == nil && len(page.Features) > 0 {
			for _, f := range page.Features {
				docs = append(docs, f)
			}
		} else if bytes.Contains(b, []byte(`"Feature"`)) {
			docs = append(docs, b)
		}
	}
	docs = append(docs,
		[]byte(`{"id":"a","properties":{"datetime":null,"start_datetime":"2024-01-01T00:00:00.5+02:00"},"assets":{"x":{"href":"s3://b/k","file:size":-5,"alternate":{"download":{"href":"https://h/k?sig=1"},"n":null}}}}`),
		[]byte(`{"id":"b","bbox":"x","properties":{"datetime":5},"assets":{"y":{"href":7,"roles":["data",3],"file:size":12.0}}}`),
		[]byte(`{"id":"c","properties":null,"assets":null}`),
	)
	if len(docs) < 10 {
		t.Fatalf("only %d items found in testdata", len(docs))
	}
	docs = append(docs,
		[]byte(`{"id":"d","id":"e","assets":{"a":{"href":"x"},"a":{"href":"y","file:size":1e3,"roles":null}}}`),
		[]byte(`{"id":"f\u00e9","properties":{"datetime":"2024-01-02T03:04:05Z","end_datetime":null},"bbox":[1,2.5,-3e1,4]}`),
	)
	for _, raw := range docs {
		fast, ok := parseItemFast(raw)
		slow, err := parseItemMap(raw)
		if err != nil {
			t.Errorf("item %.60s: %v", raw, err)
			continue
		}
		if !ok {
			if !bytes.HasPrefix(raw, []byte(`{"id":"b",`)) { // the one with members of other types
				t.Errorf("item %.60s: not taken by the one-pass decoder", raw)
			}
			continue // an odd shape: the member-by-member decoder decides
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("item %s differs:\nfast %+v\n map %+v", fast.ID, fast, slow)
		}
	}
}
