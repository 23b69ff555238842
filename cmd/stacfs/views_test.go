package main

import (
	"reflect"
	"testing"
	"time"
)

func TestParseConfigViews(t *testing.T) {
	const head = "[catalogs.a]\nurl = \"https://h/\"\n"
	cases := []configCase{
		{"bbox", head + "[catalogs.a.views.belgium]\ncollections = [\"S2\"]\nbbox = [2.5, 49.5, 6.4, 51.5]\ndatetime = \"2023-01-01/..\"\n", ""},
		{"int bbox", head + "[catalogs.a.views.v]\nbbox = [2, 49, 6, 51]\n", ""},
		{"filter json", head + "[catalogs.a.views.v]\nfilter = { op = \"<\", args = [{ property = \"eo:cloud_cover\" }, 20] }\n", ""},
		{"filter text", head + "[catalogs.a.views.v]\nfilter = \"eo:cloud_cover < 20\"\n", ""},
		{"query", head + "[catalogs.a.views.v]\nquery = { \"eo:cloud_cover\" = { lt = 20 } }\n", ""},
		{"bbox length", head + "[catalogs.a.views.v]\nbbox = [1, 2, 3]\n", `key "catalogs.a.views.v.bbox": want 4 numbers`},
		{"bbox order", head + "[catalogs.a.views.v]\nbbox = [1, 52, 3, 50]\n", `key "catalogs.a.views.v.bbox"`},
		{"bbox range", head + "[catalogs.a.views.v]\nbbox = [1, 50, 3, 95]\n", `out of range`},
		{"bad datetime", head + "[catalogs.a.views.v]\ndatetime = \"last week\"\n", `key "catalogs.a.views.v.datetime"`},
		{"unknown key", head + "[catalogs.a.views.v]\nbox = [1, 2, 3, 4]\n", `unknown key "catalogs.a.views.v.box"`},
		{"bad view name", head + "[catalogs.a.views.\"a/b\"]\nbbox = [1, 2, 3, 4]\n", `key "catalogs.a.views.a/b"`},
		{"lang without filter", head + "[catalogs.a.views.v]\nfilter_lang = \"cql2-text\"\n", `key "catalogs.a.views.v.filter_lang"`},
		{"table with text lang", head + "[catalogs.a.views.v]\nfilter = { op = \"=\", args = [1, 1] }\nfilter_lang = \"cql2-text\"\n", `key "catalogs.a.views.v.filter"`},
		{"bad lang", head + "[catalogs.a.views.v]\nfilter = \"x = 1\"\nfilter_lang = \"sql\"\n", `key "catalogs.a.views.v.filter_lang"`},
		{"bad filter type", head + "[catalogs.a.views.v]\nfilter = 3\n", `key "catalogs.a.views.v.filter"`},
		{"collection not in catalog", "[catalogs.a]\nurl = \"https://h/\"\ncollections = [\"S2\"]\n[catalogs.a.views.v]\ncollections = [\"L8\"]\n", `key "catalogs.a.views.v.collections"`},
	}
	checkConfigCases(t, cases)
}

func TestViewFilterFromConfig(t *testing.T) {
	cfg, err := ParseConfig("c.toml", `
[catalogs.a]
url = "https://h/"
[catalogs.a.views.clear]
collections = ["S2"]
bbox = [2, 49, 6, 51]
datetime = "2023-01-01T00:00:00Z/2023-12-31"
filter = { op = "<", args = [{ property = "eo:cloud_cover" }, 20] }
query = { "eo:cloud_cover" = { lt = 20 } }
[catalogs.a.views.text]
filter = "eo:cloud_cover < 20"
`)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Catalogs["a"].Views["clear"].filter
	if !reflect.DeepEqual(f.Collections, []string{"S2"}) || !reflect.DeepEqual(f.Bbox, []float64{2, 49, 6, 51}) {
		t.Errorf("filter %+v", f)
	}
	if !f.From.Equal(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("span %v..%v", f.From, f.To)
	}
	wantFilter := map[string]any{"op": "<", "args": []any{map[string]any{"property": "eo:cloud_cover"}, int64(20)}}
	if !reflect.DeepEqual(f.Extra["filter"], wantFilter) || f.Extra["filter-lang"] != "cql2-json" {
		t.Errorf("extra %#v", f.Extra)
	}
	if !reflect.DeepEqual(f.Extra["query"], map[string]any{"eo:cloud_cover": map[string]any{"lt": int64(20)}}) {
		t.Errorf("query %#v", f.Extra["query"])
	}
	tx := cfg.Catalogs["a"].Views["text"].filter
	if tx.Extra["filter"] != "eo:cloud_cover < 20" || tx.Extra["filter-lang"] != "cql2-text" || len(tx.Extra) != 2 {
		t.Errorf("text extra %#v", tx.Extra)
	}
}
