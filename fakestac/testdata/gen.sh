#!/bin/sh
# Regenerates the demo Cloud-Optimized GeoTIFFs embedded by fakestac (see README.md).
# Needs GDAL >= 3.1 with its Python bindings and NumPy (Debian: python3-gdal, python3-numpy).
# Run from anywhere: sh fakestac/testdata/gen.sh
set -eu
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY'
import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

COG = ["COMPRESS=DEFLATE", "LEVEL=9", "PREDICTOR=YES", "BLOCKSIZE=256",
       "OVERVIEWS=IGNORE_EXISTING", "RESAMPLING=AVERAGE"]


def write_cog(path, data, gdal_type, epsg, transform, nodata, description):
    """Writes data (2-D array) as a one-band COG with georeferencing."""
    rows, cols = data.shape
    mem = gdal.GetDriverByName("MEM").Create("", cols, rows, 1, gdal_type)
    mem.SetGeoTransform(transform)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    mem.SetProjection(srs.ExportToWkt())
    band = mem.GetRasterBand(1)
    band.WriteArray(data)
    band.SetNoDataValue(nodata)
    band.SetDescription(description)
    gdal.Translate(path, mem, format="COG", creationOptions=COG)
    print(path, gdal.VSIStatL(path).size, "bytes")


def field(n, seed):
    """A smooth landscape-like pattern in [0, 1] plus fixed-seed noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(np.float64) / n
    f = (0.45
         + 0.20 * np.sin(2 * np.pi * (1.5 * x + 0.3 * y))
         + 0.15 * np.cos(2 * np.pi * (2.2 * y - 0.7 * x))
         + 0.10 * np.sin(2 * np.pi * 6 * x * y))
    # Field-like blocks: a coarse checkerboard smoothed by the waves.
    f += 0.08 * (((x * 8).astype(int) + (y * 8).astype(int)) % 2)
    return np.clip(f, 0, 1), rng


# Sentinel-2 L2A look: 1024 x 1024, UInt16 reflectance x 10000, 10 m pixels in UTM 31N.
s2 = (600000.0, 10.0, 0.0, 5700000.0, 0.0, -10.0)
f, rng = field(1024, 4)
b04 = 300 + 1800 * (1 - f) + rng.normal(0, 3, f.shape)
write_cog("s2_B04.tif", np.round(b04).astype(np.uint16), gdal.GDT_UInt16, 32631, s2, 0,
          "B04 red")
f, rng = field(1024, 8)
b08 = 1500 + 3000 * f + rng.normal(0, 3, f.shape)
write_cog("s2_B08.tif", np.round(b08).astype(np.uint16), gdal.GDT_UInt16, 32631, s2, 0,
          "B08 nir")

# NDVI (Terrascope look): 512 x 512 Byte, 20 m pixels over the same area.
f, rng = field(512, 12)
ndvi = 40 + 200 * f + rng.normal(0, 2, f.shape)
write_cog("ts_NDVI.tif", np.clip(np.round(ndvi), 1, 250).astype(np.uint8), gdal.GDT_Byte,
          32631, (600000.0, 20.0, 0.0, 5700000.0, 0.0, -20.0), 255, "NDVI")

# BIOMASS look: 512 x 512 Float32 amplitude in EPSG:4326 over Gabon, quantised to 1/256
# so that it compresses.
f, rng = field(512, 16)
amp = 0.05 + 0.4 * f + rng.normal(0, 0.004, f.shape)
write_cog("bio_abs.tif", (np.round(amp * 256) / 256).astype(np.float32), gdal.GDT_Float32,
          4326, (11.5, 0.0005, 0.0, -0.25, 0.0, -0.0005), 0, "amplitude")
PY
