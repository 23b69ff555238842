#!/usr/bin/env bash
# Installs what `make bench` needs beyond scripts/install-deps.sh (FUSE, GDAL):
# curl (the one-stream baseline) and rclone (optional comparison rows), plus
# numpy for generating the COG. Safe to run again: installs only what is missing.
set -euo pipefail

need=()
command -v curl >/dev/null || need+=(curl)
command -v rclone >/dev/null || need+=(rclone)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "bench/install.sh: need root to install: ${need[*]}" >&2
    exit 1
  fi
fi
echo "bench/install.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if ! $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
  # rclone is optional (the bench skips its rows); curl and numpy are not.
  command -v curl >/dev/null && /usr/bin/python3 -c 'import numpy' 2>/dev/null || exit 1
  echo "bench/install.sh: rclone could not be installed; its rows will be skipped" >&2
fi
