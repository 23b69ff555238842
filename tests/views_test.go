package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// viewServer holds two S2 items on one day, in Belgium and in Spain (with cloud cover),
// one S2 item in 2024 and one L8 item.
func viewServer(t *testing.T, o fakestac.Options) *fakestac.Server {
	t.Helper()
	s := fakestac.New(o)
	t.Cleanup(s.Close)
	s.AddCollection(fakestac.Collection{ID: "S2", Start: *ts("2023-01-01T00:00:00Z")})
	s.AddCollection(fakestac.Collection{ID: "L8", Start: *ts("2023-01-01T00:00:00Z")})
	asset := func(id string) map[string]fakestac.Asset {
		return map[string]fakestac.Asset{"B04": {Path: "/data/" + id + "/B04.tif", Size: 1000, Seed: 1, FileSize: true}}
	}
	s.AddItem(fakestac.Item{ID: "S2_BE", Collection: "S2", Datetime: ts("2023-03-15T10:00:00Z"), Bbox: []float64{4, 50, 5, 51}, Assets: asset("S2_BE"),
		Properties: map[string]any{"eo:cloud_cover": 5, "s2:tile": "31UFS"}})
	s.AddItem(fakestac.Item{ID: "S2_ES", Collection: "S2", Datetime: ts("2023-03-15T11:00:00Z"), Bbox: []float64{-4, 40, -3, 41}, Assets: asset("S2_ES"),
		Properties: map[string]any{"eo:cloud_cover": 10}})
	s.AddItem(fakestac.Item{ID: "S2_ES_2024", Collection: "S2", Datetime: ts("2024-05-01T11:00:00Z"), Bbox: []float64{-4, 40, -3, 41}, Assets: asset("S2_ES_2024")})
	s.AddItem(fakestac.Item{ID: "L8_BE", Collection: "L8", Datetime: ts("2023-03-16T10:00:00Z"), Bbox: []float64{4, 50, 5, 51}, Assets: asset("L8_BE")})
	return s
}

func TestViewBbox(t *testing.T) {
	s := viewServer(t, fakestac.Options{})
	m := startMount(t, configFor(s, `
[catalogs.fake.views.belgium]
collections = ["S2"]
bbox = [2.5, 49.5, 6.4, 51.5]
[catalogs.fake.views.all-2023]
datetime = "2023-01-01/2023-12-31"
`))
	cases := []struct {
		dir  string
		want []string
	}{
		{"", []string{"L8/", "S2/", "views/"}},
		{"views", []string{"all-2023/", "belgium/"}},
		{"views/belgium", []string{"S2/"}},
		{"views/belgium/S2", []string{"2023/", "collection.json"}},
		{"views/belgium/S2/2023/03", []string{"15/"}},
		{"views/belgium/S2/2023/03/15", []string{"S2_BE/"}},
		{"views/belgium/S2/2023/03/15/S2_BE", []string{"B04.tif", "item.json"}},
		{"views/all-2023", []string{"L8/", "S2/"}},
		{"views/all-2023/S2", []string{"2023/", "collection.json"}},
		{"views/all-2023/S2/2023/03/15", []string{"S2_BE/", "S2_ES/"}},
		{"S2", []string{"2023/", "2024/", "collection.json"}},
		{"S2/2023/03/15", []string{"S2_BE/", "S2_ES/"}},
	}
	for _, c := range cases {
		got := ls(t, filepath.Join(m.Dir, c.dir))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ls %s = %q, want %q", c.dir, got, c.want)
		}
	}
	data, err := os.ReadFile(filepath.Join(m.Dir, "views/belgium/S2/2023/03/15/S2_BE/B04.tif"))
	if err != nil || len(data) != 1000 {
		t.Errorf("read view asset: %d bytes, %v", len(data), err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "views/belgium/S2/2023/03/15/S2_ES")); !os.IsNotExist(err) {
		t.Errorf("stat item outside the view: %v, want ENOENT", err)
	}
}

func TestViewCollectionCalledViews(t *testing.T) {
	s := viewServer(t, fakestac.Options{})
	s.AddCollection(fakestac.Collection{ID: "views", Start: *ts("2023-01-01T00:00:00Z")})
	m := startMount(t, configFor(s, "[catalogs.fake.views.v]\nbbox = [2.5, 49.5, 6.4, 51.5]\n"))
	if got, want := ls(t, m.Dir), []string{"L8/", "S2/", "views/", "views~/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ls = %q, want %q", got, want)
	}
	if got, want := ls(t, filepath.Join(m.Dir, "views~")), []string{"v/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ls views~ = %q, want %q", got, want)
	}
}

func TestViewFilterNeedsConformance(t *testing.T) {
	s := viewServer(t, fakestac.Options{})
	for _, c := range []struct{ view, class string }{
		{`filter = "eo:cloud_cover < 20"`, "https://api.stacspec.org/v1.0.0/item-search#filter"},
		{`query = { "eo:cloud_cover" = { lt = 20 } }`, "https://api.stacspec.org/v1.0.0/item-search#query"},
	} {
		requireFUSE(t)
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(cfg, []byte(configFor(s, "[catalogs.fake.views.clear]\n"+c.view+"\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		mnt := filepath.Join(dir, "mnt")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(stacfsBin, "mount", "--config", cfg, mnt)
		cmd.Env = append(os.Environ(), "HOME="+dir, "STACFS_CONFIG=")
		out, err := cmd.CombinedOutput()
		if err == nil {
			unmountLazy(mnt)
			t.Fatalf("mount with %s succeeded on a server without the class", c.view)
		}
		for _, want := range []string{`view "clear"`, `catalog "fake"`, c.class} {
			if !strings.Contains(string(out), want) {
				t.Errorf("mount error %q does not name %s", out, want)
			}
		}
		if isMounted(mnt) {
			unmountLazy(mnt)
			t.Error("mounted")
		}
	}
}

func TestViewFilterConformant(t *testing.T) {
	classes := []string{"https://api.stacspec.org/v1.0.0/item-search#filter", "https://api.stacspec.org/v1.0.0/item-search#query"}
	for _, method := range []struct {
		name string
		o    fakestac.Options
	}{
		{"GET", fakestac.Options{SearchGET: true, Conformance: classes}},
		{"POST", fakestac.Options{SearchPOST: true, Conformance: classes}},
	} {
		t.Run(method.name, func(t *testing.T) {
			s := viewServer(t, method.o)
			// A cloudy twin of S2_BE: only the views' filters keep it out.
			s.AddItem(fakestac.Item{ID: "S2_BE_CLOUDY", Collection: "S2", Datetime: ts("2023-03-15T10:30:00Z"),
				Bbox: []float64{4, 50, 5, 51}, Properties: map[string]any{"eo:cloud_cover": 80},
				Assets: map[string]fakestac.Asset{"B04": {Path: "/data/S2_BE_CLOUDY/B04.tif", Size: 1000, Seed: 2, FileSize: true}}})
			m := startMount(t, configFor(s, `
[catalogs.fake.views.clear-json]
collections = ["S2"]
bbox = [2.5, 49.5, 6.4, 51.5]
filter = { op = "<", args = [{ property = "eo:cloud_cover" }, 20] }
[catalogs.fake.views.clear-text]
collections = ["S2"]
filter = "eo:cloud_cover < 20 AND s2:tile = '31UFS'"
[catalogs.fake.views.clear-query]
collections = ["S2"]
query = { "eo:cloud_cover" = { lt = 20 } }
[catalogs.fake.views.cloudy]
collections = ["S2"]
filter = "eo:cloud_cover >= 20"
`))
			cases := []struct {
				dir  string
				want []string
			}{
				{"S2/2023/03/15", []string{"S2_BE/", "S2_BE_CLOUDY/", "S2_ES/"}},
				{"views", []string{"clear-json/", "clear-query/", "clear-text/", "cloudy/"}},
				{"views/clear-json", []string{"S2/"}},
				// The bbox keeps S2_ES out, the filter S2_BE_CLOUDY.
				{"views/clear-json/S2/2023/03/15", []string{"S2_BE/"}},
				// s2:tile: only S2_BE has it.
				{"views/clear-text/S2/2023/03/15", []string{"S2_BE/"}},
				{"views/clear-query/S2/2023/03/15", []string{"S2_BE/", "S2_ES/"}},
				// Only S2_BE_CLOUDY has that cover; the probes find no 2024.
				{"views/cloudy/S2", []string{"2023/", "collection.json"}},
				{"views/cloudy/S2/2023/03/15", []string{"S2_BE_CLOUDY/"}},
			}
			for _, c := range cases {
				if got := ls(t, filepath.Join(m.Dir, c.dir)); !reflect.DeepEqual(got, c.want) {
					t.Errorf("ls %s = %q, want %q", c.dir, got, c.want)
				}
			}
		})
	}
}
