#!/usr/bin/env bash
# Puts the Nu HTML checker (vnu.jar, from the npm registry's vnu-jar package) at the path given.
# The browser tests run it on Java; without npm it is named and, outside CI, its checks are skipped.
set -euo pipefail
VNU_JAR=26.9.27
target=$1
[ -f "$target" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed: cannot fetch the Nu HTML checker (vnu-jar $VNU_JAR)." >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "vnu-jar@$VNU_JAR" >/dev/null && tar xzf "vnu-jar-$VNU_JAR.tgz")
mkdir -p "$(dirname "$target")"
mv "$work/package/build/dist/vnu.jar" "$target"
