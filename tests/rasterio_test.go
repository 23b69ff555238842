package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rioWindow is a rasterio script: it prints the shape, dtype and a digest
// of a window of band 1, and the file's CRS and transform.
const rioWindow = `
import hashlib, sys
import rasterio
from rasterio.windows import Window
with rasterio.open(sys.argv[1]) as ds:
    a = ds.read(1, window=Window(300, 200, 256, 256))
    print(ds.crs, tuple(ds.transform), ds.count, ds.dtypes, ds.overviews(1))
    print(a.shape, a.dtype, hashlib.sha256(a.tobytes()).hexdigest())
`

// TestRasterio: python3-rasterio reads a window of a mounted COG identical
// to the same window of the local file.
func TestRasterio(t *testing.T) {
	requireTool(t, "/usr/bin/python3")
	if err := exec.Command("/usr/bin/python3", "-c", "import rasterio").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-rasterio is required (scripts/install-deps.sh): %v", err)
		}
		t.Skip("python3-rasterio not installed")
	}
	mounted, local, _ := demoCOG(t)
	script := filepath.Join(t.TempDir(), "window.py")
	if err := os.WriteFile(script, []byte(rioWindow), 0o644); err != nil {
		t.Fatal(err)
	}
	got := run(t, "/usr/bin/python3", script, mounted)
	want := run(t, "/usr/bin/python3", script, local)
	if got != want || !strings.Contains(got, "(256, 256) uint16") {
		t.Errorf("rasterio window differs:\nmounted %s\nlocal   %s", got, want)
	}
}
