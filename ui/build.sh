#!/usr/bin/env bash
# Builds the page the server serves at / into ui/dist/ (index.html, app.js, app.css, favicon.svg) from ui/src, with
# the npm dependencies package-lock.json locks (d3-flame-graph, d3-selection; esbuild bundles them). The jar's build
# runs it (java-shim/shim/pom.xml, before packaging its resources), so `mvn package` always packs a current page;
# `-Dswprof.ui.skip=true` skips this step (the jar then packs what ui/dist holds, if anything; without a page GET / answers
# 404).
# npm ci runs when node_modules is missing or older than package-lock.json (the first time it needs the npm registry);
# the bundle itself takes well under a second.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "ui/build.sh: npm is missing (scripts/setup.sh installs Node.js and npm)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
rm -rf dist
npm run -s build
