#!/usr/bin/env bash
# Installs the official Node tus server (@tus/server with @tus/file-store, from the npm registry) into the
# folder given, for bench/surge.py to measure the product's tus endpoint against. Prints the folder.
set -euo pipefail
TUS_SERVER=2.4.5
TUS_FILE_STORE=2.1.1
target=$1
if [ ! -f "$target/node_modules/@tus/server/package.json" ] \
  || ! grep -q "\"version\": \"$TUS_SERVER\"" "$target/node_modules/@tus/server/package.json"; then
  command -v npm >/dev/null 2>&1 || { echo "npm is not installed: cannot fetch @tus/server $TUS_SERVER." >&2; exit 1; }
  mkdir -p "$target"
  npm install --silent --no-audit --no-fund --prefix "$target" \
    "@tus/server@$TUS_SERVER" "@tus/file-store@$TUS_FILE_STORE" >/dev/null
fi
echo "$target"
