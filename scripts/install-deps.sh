#!/usr/bin/env bash
# Installs what stacfs' tests need on a Debian machine: FUSE 3 (fusermount3,
# /dev/fuse), GDAL (gdalinfo, gdal_translate, python3-gdal) and getfattr.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v gdalinfo >/dev/null || need+=(gdal-bin)
/usr/bin/python3 -c 'from osgeo import gdal' 2>/dev/null || need+=(python3-gdal)
command -v getfattr >/dev/null || need+=(attr)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
