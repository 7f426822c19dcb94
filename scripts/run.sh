#!/usr/bin/env bash
# Sets up (packages, build) and runs swprof on this host with its data in ./data.
# Until the GraphQL server is built, this runs the native scheduler (`swprof run`), which
# registers the processes of this host and runs the tasks created with `swprof create`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/swprof run --data "${SWPROF_DATA_DIR:-./data}" --rule '^([^ ]*/)?([^ /]+)( |$)={2}'
