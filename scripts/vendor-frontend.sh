#!/usr/bin/env bash
# Refreshes the vendored front-end files in static/vendor/ from the npm registry.
# Only maintainers run this (it needs Node); `make run` serves the committed output.
set -euo pipefail
GOVUK_FRONTEND=5.14.0
TUS_JS_CLIENT=4.3.1
SASS=1.108.2

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "govuk-frontend@$GOVUK_FRONTEND" "tus-js-client@$TUS_JS_CLIENT" "sass@$SASS"

out="$root/static/vendor"
rm -rf "$out" && mkdir -p "$out/govuk-frontend" "$out/tus-js-client"
govuk=node_modules/govuk-frontend

# A police service is not GOV.UK: an Arial/Helvetica stack, so the GDS Transport
# @font-face is never emitted and its fonts are never requested.
cat > site.scss <<'SCSS'
$govuk-font-family: Helvetica, Arial, sans-serif;
$govuk-new-link-styles: true;
@import "govuk-frontend/dist/govuk/index";
SCSS
npx sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps \
  --silence-deprecation=import,global-builtin,color-functions,slash-div \
  site.scss "$out/govuk-frontend/govuk-frontend.min.css"
cp "$govuk/dist/govuk/govuk-frontend.min.js" "$out/govuk-frontend/"
# The npm package does not ship its licence file; this is the project's MIT licence text.
cat > "$out/govuk-frontend/LICENSE.txt" <<'LICENCE'
The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
LICENCE
echo "$GOVUK_FRONTEND" > "$out/govuk-frontend/VERSION"

cp node_modules/tus-js-client/dist/tus.min.js "$out/tus-js-client/"
cp node_modules/tus-js-client/LICENSE "$out/tus-js-client/LICENSE"
echo "$TUS_JS_CLIENT" > "$out/tus-js-client/VERSION"

# The source maps are not vendored: drop the comments pointing at them, or collectstatic's manifest fails.
sed -i '/^\/\/# sourceMappingURL=/d; s|//# sourceMappingURL=[^ ]*$||' \
  "$out/govuk-frontend/govuk-frontend.min.js" "$out/tus-js-client/tus.min.js"

if grep -q "GDS Transport\|/assets/fonts" "$out/govuk-frontend/govuk-frontend.min.css"; then
  echo "The compiled CSS still refers to the GDS Transport font." >&2
  exit 1
fi
echo "Vendored govuk-frontend $GOVUK_FRONTEND and tus-js-client $TUS_JS_CLIENT into static/vendor/."
