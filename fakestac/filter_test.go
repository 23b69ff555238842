package fakestac

import (
	"encoding/json"
	"testing"
	"time"
)

func TestItemFilter(t *testing.T) {
	dt := time.Date(2023, 3, 15, 10, 0, 0, 0, time.UTC)
	it := &Item{ID: "S2_BE", Collection: "S2", Datetime: &dt, Bbox: []float64{4, 50, 5, 51},
		Properties: map[string]any{"eo:cloud_cover": 12, "platform": "sentinel-2a", "s2:tile": "31UFS"}}
	props := itemProps(it, itemProperties(it))
	tests := []struct {
		name, filter, lang, query string
		want                      bool
	}{
		{"no filter", "", "", "", true},
		{"json lt", `{"op":"<","args":[{"property":"eo:cloud_cover"},20]}`, "", "", true},
		{"json lt false", `{"op":"<","args":[{"property":"eo:cloud_cover"},10]}`, "", "", false},
		{"json and", `{"op":"and","args":[{"op":">=","args":[{"property":"eo:cloud_cover"},12]},{"op":"=","args":[{"property":"platform"},"sentinel-2a"]}]}`, "cql2-json", "", true},
		{"json or", `{"op":"or","args":[{"op":"=","args":[{"property":"id"},"x"]},{"op":"=","args":[{"property":"collection"},"S2"]}]}`, "", "", true},
		{"json not", `{"op":"not","args":[{"op":"=","args":[{"property":"id"},"S2_BE"]}]}`, "", "", false},
		{"json in", `{"op":"in","args":[{"property":"s2:tile"},["31UFS","31UFT"]]}`, "", "", true},
		{"json like", `{"op":"like","args":[{"property":"platform"},"sentinel-2_"]}`, "", "", true},
		{"json like no", `{"op":"like","args":[{"property":"platform"},"landsat%"]}`, "", "", false},
		{"json between", `{"op":"between","args":[{"property":"eo:cloud_cover"},10,20]}`, "", "", true},
		{"json isNull", `{"op":"isNull","args":[{"property":"view:sun_elevation"}]}`, "", "", true},
		{"json missing property compares false", `{"op":">","args":[{"property":"view:sun_elevation"},0]}`, "", "", false},
		{"json timestamp", `{"op":">","args":[{"property":"datetime"},{"timestamp":"2023-03-01T00:00:00Z"}]}`, "", "", true},
		{"json s_intersects bbox", `{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[4.5,50.5,6,52]}]}`, "", "", true},
		{"json s_intersects polygon away", `{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[-4,40],[-3,40],[-3,41],[-4,40]]]}]}`, "", "", false},
		{"json as GET string", `"{\"op\":\"<\",\"args\":[{\"property\":\"eo:cloud_cover\"},20]}"`, "cql2-json", "", true},
		{"text lt", `"eo:cloud_cover < 20"`, "", "", true},
		{"text and or", `"eo:cloud_cover < 5 OR (platform = 'sentinel-2a' AND s2:tile IN ('31UFS'))"`, "cql2-text", "", true},
		{"text not between", `"eo:cloud_cover NOT BETWEEN 10 AND 20"`, "", "", false},
		{"text like", `"platform LIKE 'sentinel%'"`, "", "", true},
		{"text is not null", `"platform IS NOT NULL"`, "", "", true},
		{"text timestamp", `"datetime < TIMESTAMP('2023-03-15T09:00:00Z')"`, "", "", false},
		{"text quoted name", `"\"eo:cloud_cover\" = 12"`, "", "", true},
		{"query lt", "", "", `{"eo:cloud_cover":{"lt":20}}`, true},
		{"query gte false", "", "", `{"eo:cloud_cover":{"gte":20}}`, false},
		{"query in", "", "", `{"s2:tile":{"in":["31UFT"]}}`, false},
		{"query startsWith", "", "", `{"platform":{"startsWith":"sentinel"}}`, true},
		{"query missing property", "", "", `{"view:sun_elevation":{"gt":0}}`, false},
		{"query as GET string", "", "", `"{\"eo:cloud_cover\":{\"eq\":12}}"`, true},
		{"filter and query both", `"eo:cloud_cover < 20"`, "", `{"platform":{"eq":"sentinel-2b"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseItemFilter(json.RawMessage(tc.filter), tc.lang, json.RawMessage(tc.query))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.match(props); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestItemFilterErrors(t *testing.T) {
	for _, tc := range []struct{ filter, lang, query string }{
		{`{"op":"="}`, "", ""},
		{`{"op":"t_during","args":[1,2]}`, "", ""},
		{`{"op":"in","args":[1,2]}`, "", ""},
		{`"a <"`, "", ""},
		{`"a = 'unterminated"`, "", ""},
		{`"(a = 1"`, "", ""},
		{`"a = 1 b"`, "", ""},
		{`{"op":"=","args":[1,1]}`, "cql2-text", ""},
		{`"a = 1"`, "cql3", ""},
		{"", "", `{"a":{"near":1}}`},
		{"", "", `[1]`},
	} {
		if _, err := parseItemFilter(json.RawMessage(tc.filter), tc.lang, json.RawMessage(tc.query)); err == nil {
			t.Errorf("parseItemFilter(%s, %q, %s) = nil error", tc.filter, tc.lang, tc.query)
		}
	}
}
