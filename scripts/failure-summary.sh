#!/usr/bin/env bash
# Runs a command (go test), passing its output through, and when it fails prints
# a short summary of what failed as its last lines: CI shows only the end of a long
# log, where go test's own report of a failed or hung test is long gone.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	echo
	echo "=== what failed (exit $rc) ==="
	# Failed tests, panics, the watchdogs' lines and go test's timeout report
	# (the tests still running, indented under "running tests:").
	awk '
		/running tests:/ { inrun = 1; print; next }
		inrun && /^[ \t]+Test/ { print; next }
		{ inrun = 0 }
		/^[ \t]*--- FAIL/ || /^panic: / || /^FAIL/ || /still running .* after mounting/ || /is 90 s away/ || /Test killed/ { print }
	' "$log" | head -60
fi
exit "$rc"
