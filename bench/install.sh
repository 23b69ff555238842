#!/usr/bin/env bash
# What make bench needs: see scripts/install-deps.sh --bench.
exec "$(dirname "$0")/../scripts/install-deps.sh" --bench
