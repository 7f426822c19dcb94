#!/usr/bin/env bash
# Installs what ui-check needs: Debian's chromium (driven, not downloaded, by playwright-core) and the locked npm
# dependencies. Run as root (apt-get); the Java server is built by run.sh itself.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
command -v node >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
npm ci --no-audit --no-fund
