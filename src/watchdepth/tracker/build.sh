#!/bin/sh
# Regenerate tracker.min.js, the file served at /tracker.js, from tracker.js.
#
# Input: tracker.js (the readable source, served at /tracker.src.js). Output:
# tracker.min.js with a one-line header naming the source's SHA-256, which
# tests/tracker/test_tracker_routes.py checks, so an edit to tracker.js without
# a rebuild fails the tests. Prints raw, minified and minified+gzipped sizes.
# Needs Node and npm (terser is fetched by npx from the npm registry).
#
# Usage: sh build.sh
set -eu
cd "$(dirname "$0")"
TERSER=terser@5.51.4
sum=$(sha256sum tracker.js | cut -c1-16)
version=$(sed -n "s/^ *var VERSION = '\([^']*\)';/\1/p" tracker.js)
body=$(npx --yes "$TERSER" tracker.js --ecma 2017 --compress passes=2 --mangle --comments false)
printf '/*! watchdepth tracker %s | Apache-2.0 | source /tracker.src.js sha256:%s */\n%s\n' \
  "$version" "$sum" "$body" > tracker.min.js
echo "raw      $(wc -c < tracker.js) bytes"
echo "min      $(wc -c < tracker.min.js) bytes"
echo "min+gzip $(gzip -9 -c tracker.min.js | wc -c) bytes"
