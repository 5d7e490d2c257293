#!/bin/sh
# npm run mutate [-- FOLDER[:GLOB]...]: StrykerJS on each folder (default: all six), one run after the
# other, niced, incremental (a re-run retests only mutants whose code or covering tests changed).
# FOLDER:GLOB narrows a run to some of the folder's files, e.g. proxy/http:forward.ts.
set -eu
cd "$(dirname "$0")/.."
: "${WEFT_FIXTURES_DIR:=$(cd .. && pwd)/shared/fixtures}"
export WEFT_FIXTURES_DIR
[ $# -gt 0 ] || set -- proxy/http proxy/upstream proxy/http1 proxy/xds controlplane/xds controlplane/translate
for folder in "$@"; do
  echo "== mutate src/$folder"
  start=$(date +%s)
  WEFT_MUTATE="$folder" nice -n 10 npx stryker run stryker.config.mjs
  echo "== src/$folder: $(( $(date +%s) - start )) s"
done
