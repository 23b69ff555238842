//go:build gis

package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// qgisRender renders a raster file with QGIS (headless) to a PNG and prints
// the layer's validity, extent and a digest of the rendered pixels.
const qgisRender = `
import hashlib, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import QgsApplication, QgsRasterLayer, QgsMapSettings, QgsMapRendererSequentialJob
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False)
app.initQgis()
layer = QgsRasterLayer(sys.argv[1], "cog")
if not layer.isValid():
    print("invalid layer", layer.error().summary())
    sys.exit(1)
ms = QgsMapSettings()
ms.setLayers([layer])
ms.setDestinationCrs(layer.crs())
ms.setExtent(layer.extent())
ms.setOutputSize(QSize(512, 512))
ms.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererSequentialJob(ms)
job.start()
job.waitForFinished()
img = job.renderedImage()
img.save(sys.argv[2], "png")
bits = img.constBits()
bits.setsize(img.sizeInBytes())
print(layer.width(), layer.height(), layer.extent().toString(), hashlib.sha256(bytes(bits)).hexdigest())
# QGIS 3.22 crashes in exitQgis() when run headless: leave at once instead.
sys.stdout.flush()
os._exit(0)
`

// TestQGIS: QGIS loads a mounted COG as a raster layer and renders it to a
// PNG identical to rendering the local file (make test-gis).
func TestQGIS(t *testing.T) {
	requireTool(t, "/usr/bin/python3")
	mounted, local, _ := demoCOG(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "render.py")
	if err := os.WriteFile(script, []byte(qgisRender), 0o644); err != nil {
		t.Fatal(err)
	}
	got := run(t, "/usr/bin/python3", script, mounted, filepath.Join(dir, "mounted.png"))
	want := run(t, "/usr/bin/python3", script, local, filepath.Join(dir, "local.png"))
	if got != want || !strings.HasPrefix(got, "1024 1024") {
		t.Errorf("QGIS renders differ:\nmounted %s\nlocal   %s", got, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "mounted.png")); err != nil || fi.Size() < 1000 {
		t.Errorf("no rendered PNG: %v", err)
	}
	if out := os.Getenv("STACFS_GIS_PNG"); out != "" { // keep the render to look at
		b, _ := os.ReadFile(filepath.Join(dir, "mounted.png"))
		os.WriteFile(out, b, 0o644)
	}
}
