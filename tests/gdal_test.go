package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(mounted), "item.json"))
	if err != nil {
		t.Fatal(err)
	}
	var item struct {
		Assets map[string]struct{ Href string } `json:"assets"`
	}
	if err := json.Unmarshal(raw, &item); err != nil {
		t.Fatal(err)
	}
	var href string
	for _, a := range item.Assets {
		if strings.HasSuffix(a.Href, "B04.tif") {
			href = a.Href
		}
	}
	resp, err := http.Get(href)
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
		dir := t.TempDir()
		a, b := filepath.Join(dir, "mounted.tif"), filepath.Join(dir, "local.tif")
		run(t, "gdal_translate", "-q", "-srcwin", "300", "200", "256", "256", mounted, a)
		run(t, "gdal_translate", "-q", "-srcwin", "300", "200", "256", "256", local, b)
		ca := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", a), -1)
		cb := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", b), -1)
		if len(ca) == 0 || strings.Join(ca, ",") != strings.Join(cb, ",") {
			t.Errorf("window checksums differ: mounted %v, local %v", ca, cb)
		}
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if string(da) != string(db) {
			t.Error("window files differ")
		}
	})
	t.Run("overview thumbnail", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.tif"), filepath.Join(dir, "b.tif")
		run(t, "gdal_translate", "-q", "-outsize", "128", "128", mounted, a)
		run(t, "gdal_translate", "-q", "-outsize", "128", "128", local, b)
		ca := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", a), -1)
		cb := checksumRe.FindAllString(run(t, "gdalinfo", "-checksum", b), -1)
		if len(ca) == 0 || strings.Join(ca, ",") != strings.Join(cb, ",") {
			t.Errorf("thumbnail checksums differ: mounted %v, local %v", ca, cb)
		}
	})
}
