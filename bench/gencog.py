#!/usr/bin/env python3
"""Writes a Sentinel-2-like UInt16 DEFLATE COG for the stacfs benchmark.

usage: gencog.py SIZE OUT.tif

The content is realistic rather than constant so that it compresses like a
real 10 m band: field parcels of random reflectance, a smooth large-scale
gradient, a few "rivers" and per-pixel noise. It is written as a tiled GTiff
in bands of rows (bounded memory), then turned into a COG with 512 px tiles,
DEFLATE and overviews by gdal_translate. Deterministic (fixed seed).
"""
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def main():
    size = int(sys.argv[1])
    out = sys.argv[2]
    tmp = out + ".tmp.tif"
    rng = np.random.default_rng(20240314)

    # Parcels: a coarse grid of random reflectances, ~60 px fields.
    parcel = 60
    n = size // parcel + 2
    parcels = rng.integers(300, 3500, size=(n, n)).astype(np.float32)
    # Offsets per parcel row so fields are not aligned on one grid.
    shift = rng.integers(0, parcel, size=n)

    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(tmp, size, size, 1, gdal.GDT_UInt16,
                    options=["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512",
                             "COMPRESS=ZSTD", "BIGTIFF=IF_SAFER"])
    # UTM 31N, 10 m pixels, like tile 31UFT.
    ds.SetGeoTransform([600000.0, 10.0, 0.0, 5700000.0, 0.0, -10.0])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(0)

    x = np.arange(size, dtype=np.float32)
    step = 512
    for y0 in range(0, size, step):
        h = min(step, size - y0)
        y = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
        rows = (y0 + np.arange(h)) // parcel
        a = np.empty((h, size), dtype=np.float32)
        for i, r in enumerate(rows):
            cols = ((x + shift[r]) // parcel).astype(np.int64)
            a[i] = parcels[r, cols]
        # large-scale smooth relief
        a += 400.0 * np.sin(x / 1700.0)[None, :] * np.cos(y / 2300.0)
        a += 150.0 * np.sin((x[None, :] + y) / 310.0)
        # rivers: dark meandering bands
        for k in range(3):
            cx = size * (k + 1) / 4 + 300.0 * np.sin(y / (500.0 + 200 * k))
            a = np.where(np.abs(x[None, :] - cx) < 12 + 4 * k, 180.0, a)
        # sensor noise
        a += rng.normal(0.0, 9.0, size=a.shape).astype(np.float32)
        band.WriteArray(np.clip(a, 1, 10000).astype(np.uint16), 0, y0)
    band.FlushCache()
    ds = None

    subprocess.run(["gdal_translate", "-q", "-of", "COG",
                    "-co", "COMPRESS=DEFLATE", "-co", "BLOCKSIZE=512",
                    "-co", "OVERVIEWS=AUTO", "-co", "NUM_THREADS=ALL_CPUS",
                    "-co", "BIGTIFF=IF_SAFER",
                    tmp, out + ".part"], check=True)
    os.remove(tmp)
    os.rename(out + ".part", out)


if __name__ == "__main__":
    main()
