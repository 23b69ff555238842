#!/usr/bin/env bash
# Installs what stacfs needs on a Debian machine, only what is missing.
#   scripts/install-deps.sh          the tests: FUSE 3 (fusermount3, /dev/fuse),
#                                    GDAL (gdalinfo, gdal_translate, python3-gdal),
#                                    getfattr (attr), python3-rasterio, unzip,
#                                    python3-zarr, python3-xarray,
#                                    redis-server (the shared cache tier)
#   scripts/install-deps.sh --gis    also QGIS (python3-qgis) for make test-gis
#   scripts/install-deps.sh --bench  also what make bench uses: curl (the
#                                    one-stream baseline), numpy (to make the
#                                    COG) and rclone (optional comparison rows)
set -euo pipefail

need=()
optional=()
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v gdalinfo >/dev/null || need+=(gdal-bin)
/usr/bin/python3 -c 'from osgeo import gdal' 2>/dev/null || need+=(python3-gdal)
command -v getfattr >/dev/null || need+=(attr)
command -v redis-server >/dev/null || need+=(redis-server) # the shared cache tier's tests and bench rows
/usr/bin/python3 -c 'import rasterio' 2>/dev/null || need+=(python3-rasterio)
# zip and Zarr folders (tests/containers_test.go): unzip, sha256sum, xarray over zarr
command -v unzip >/dev/null || need+=(unzip)
# streams without length (tests/streams_test.go): tar archives and extracts them
command -v tar >/dev/null || need+=(tar)
/usr/bin/python3 -c 'import zarr' 2>/dev/null || need+=(python3-zarr)
/usr/bin/python3 -c 'import xarray' 2>/dev/null || need+=(python3-xarray)
if [ "${1:-}" = "--gis" ]; then
  /usr/bin/python3 -c 'import qgis.core' 2>/dev/null || need+=(python3-qgis qgis-providers)
fi
if [ "${1:-}" = "--bench" ]; then
  command -v curl >/dev/null || need+=(curl)
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
  command -v rclone >/dev/null || optional+=(rclone)
fi

if [ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install-deps: need root to install: ${need[*]} ${optional[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${need[*]} ${optional[*]}"
$sudo apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ${#optional[@]} -gt 0 ]; then
  $sudo apt-get install -y -qq --no-install-recommends "${optional[@]}" >/dev/null ||
    echo "install-deps: ${optional[*]} could not be installed; the bench skips its rows" >&2
fi
