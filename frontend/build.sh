#!/usr/bin/env bash
# Rebuilds cmetrack's committed front-end assets from GOV.UK Frontend.
#
# Output (all committed, served by Django as static files):
#   cmetrack/core/static/cmetrack/application.css        compiled Sass (Arial, no font files)
#   cmetrack/core/static/cmetrack/govuk-frontend.min.js  GOV.UK Frontend ES module
#   cmetrack/core/static/cmetrack/init.js                tiny module that calls initAll()
#                                                        and enhances school/authority selects
#   cmetrack/core/static/cmetrack/autocomplete.js        cmetrack's enhancement of those selects
#   cmetrack/core/static/cmetrack/accessible-autocomplete.min.js  GOV.UK accessible-autocomplete
#   cmetrack/core/static/cmetrack/chart.umd.min.js       Chart.js, for the report charts
#   cmetrack/core/static/cmetrack/reports-charts.js      draws report charts from their JSON
#   cmetrack/core/static/cmetrack/reports.css            report page and print styles
#   cmetrack/core/static/cmetrack/app.css                plain CSS: table reflow, home page,
#                                                        and accessible-autocomplete's styles
#   cmetrack/core/static/cmetrack/assets/                favicons, manifest icons, manifest.json
#
# The icons in src/assets/ are cmetrack's own (a council service must not use
# the GOV.UK crown favicons from govuk-frontend). No fonts are copied: the
# service uses Arial, not GDS Transport.
#
# Usage: frontend/build.sh   (or `npm run build` inside frontend/)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$repo/cmetrack/core/static/cmetrack"
govuk="$here/node_modules/govuk-frontend/dist/govuk"

cd "$here"

if [ ! -d node_modules/govuk-frontend ] || [ ! -d node_modules/sass ] || [ ! -d node_modules/chart.js ] \
  || [ ! -d node_modules/accessible-autocomplete ]; then
  npm ci --no-audit --no-fund
fi

mkdir -p "$out"
rm -rf "$out/assets"
mkdir -p "$out/assets/images"

# 1. Styles: compressed, no source maps.
"$here/node_modules/.bin/sass" \
  --pkg-importer=node \
  --style=compressed \
  --no-source-map \
  "$here/src/application.scss" "$out/application.css"

# 2. GOV.UK Frontend JavaScript (ES module) and the initialiser.
cp "$govuk/govuk-frontend.min.js" "$out/govuk-frontend.min.js"
# Drop the trailing sourceMappingURL comment: the map is not shipped, and
# Django's ManifestStaticFilesStorage would fail looking for it.
sed -i -e 's|//# sourceMappingURL=[^ ]*$||' "$out/govuk-frontend.min.js"

cat > "$out/init.js" <<'EOF'
import { initAll } from './govuk-frontend.min.js'
import { enhanceAutocompletes } from './autocomplete.js'
initAll()
enhanceAutocompletes()
EOF

# 2a. Accessible autocomplete for selects of schools and authorities (pinned in
#     package.json), loaded by autocomplete.js only on pages with such a select.
autocomplete="$here/node_modules/accessible-autocomplete/dist"
cp "$autocomplete/accessible-autocomplete.min.js" "$out/accessible-autocomplete.min.js"
sed -i -e 's|//# sourceMappingURL=[^ ]*$||' "$out/accessible-autocomplete.min.js"
cp "$here/src/autocomplete.js" "$out/autocomplete.js"

# 2b. Report charts: Chart.js (UMD build, pinned in package.json) and cmetrack's module that
#     draws each chart from the JSON beside its data table, plus the report styles.
cp "$here/node_modules/chart.js/dist/chart.umd.min.js" "$out/chart.umd.min.js"
sed -i -e 's|//# sourceMappingURL=[^ ]*$||' "$out/chart.umd.min.js"
cp "$here/src/reports/reports-charts.js" "$out/reports-charts.js"
cp "$here/src/reports/reports.css" "$out/reports.css"
# 2c. cmetrack's own plain CSS (reflow of tables at 320px, the home page's summary).
#     accessible-autocomplete's styles go with it (they have no url()).
{
  cat "$here/src/app.css"
  echo
  sed -e 's|/\*# sourceMappingURL=[^*]*\*/||' "$autocomplete/accessible-autocomplete.min.css"
} > "$out/app.css"

# 3. Images and web app manifest (our own, council-neutral icons).
cp "$here"/src/assets/images/* "$out/assets/images/"
cp "$here/src/assets/manifest.json" "$out/assets/manifest.json"

# 4. Checks: no GDS Transport font-face, and every url() in the CSS points at
#    a file we ship (Django's ManifestStaticFilesStorage fails otherwise).
if grep -q "GDS Transport" "$out/application.css" || grep -q "@font-face" "$out/application.css"; then
  echo "build.sh: application.css still contains GDS Transport / @font-face rules" >&2
  exit 1
fi
missing=0
while IFS= read -r url; do
  case "$url" in
    data:*) ;;
    /static/cmetrack/*) [ -e "$out/${url#/static/cmetrack/}" ] || { echo "build.sh: missing asset for $url" >&2; missing=1; } ;;
    *) echo "build.sh: unexpected url($url) in application.css" >&2; missing=1 ;;
  esac
done < <(grep -o 'url([^)]*)' "$out/application.css" | sed -e 's/^url(//' -e 's/)$//' -e 's/^["'\'']//' -e 's/["'\'']$//' | sort -u)
[ "$missing" -eq 0 ] || exit 1

echo "Built front-end assets in ${out#"$repo"/}:"
(cd "$out" && find . -type f -printf '%s\t%p\n' | sort -k2)
