#!/usr/bin/env bash
# The browser checks in one command: compiles the busy test program (main -> outer -> hot_loop), starts it and a
# swprof server (profiling on, rules that find the program, a free loopback port, a temporary data directory),
# then opens ui-check's page in headless Chromium: it goes through the UI's requests from start-up to the flame
# graph and the check looks at what a person sees (check.mjs; screenshots ui-check/out/flamegraph.png, pages.png).
# Then the server's own page at / (viewer.mjs): another busy program, profiled through the page's button, its flame
# graph searched, zoomed and hovered, a second program joining (busy's syscall mode), and the time before it compared
# with the time after it (screenshots ui-check/out/viewer*.png).
# Needs root (BPF) and ui-check/install.sh once. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d ui-check/node_modules/playwright-core ] \
  || { echo "ui-check: run ui-check/install.sh first" >&2; exit 2; }

jar=java-shim/shim/target/swprof-server.jar
# built when missing or older than its sources (the page's among them: viewer.mjs checks the page the jar serves)
if [ ! -f "$jar" ] || [ -n "$(find java-shim/shim/src ui/src ui/package-lock.json schema -newer "$jar" -print -quit)" ]; then
  [ -f build/libswprof_jni.so ] || { cmake -S . -B build -G Ninja >/dev/null && ninja -C build -j1 swprof_jni; }
  mvn -B -q -f java-shim/pom.xml -T1 -pl shim package -DskipTests
fi

tmp=$(mktemp -d /tmp/swprof-uicheck.XXXXXX)
busy_pid= server_pid= view_pid= guarded_pid=
cleanup() {
  set +e # a killed child's status must not end the cleanup
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$guarded_pid" ] && kill "$guarded_pid" 2>/dev/null && wait "$guarded_pid" 2>/dev/null
  [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null && wait "$busy_pid" 2>/dev/null
  [ -n "$view_pid" ] && kill "$view_pid" 2>/dev/null && wait "$view_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

cc -O1 -g -fno-omit-frame-pointer -fno-inline-functions -pthread -o "$tmp/swprof-uicheck-busy" \
  native/tests/targets/busy.c
"$tmp/swprof-uicheck-busy" spin >/dev/null &
busy_pid=$!
cp "$tmp/swprof-uicheck-busy" "$tmp/swprof-uicheck-view"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
lib=()
[ -f build/libswprof_jni.so ] && lib=(-Dswprof.library.path="$root/build/libswprof_jni.so")
SWPROF_REST_HOST=127.0.0.1 SWPROF_REST_PORT=$port SWPROF_DATA_DIR="$tmp/data" SWPROF_SCAN_INTERVAL=1s \
SWPROF_FLUSH_INTERVAL=500ms SWPROF_DISCOVERY_RULES="[{cmdRegex: 'swprof-uicheck-busy spin', service: uicheck-busy},
  {cmdRegex: 'swprof-uicheck-view (spin|syscall)', service: uicheck-view}]" \
  java "${lib[@]}" -jar "$jar" >"$tmp/server.log" 2>&1 &
server_pid=$!
# and one that asks for its token (auth.required), for the page's token prompt; it profiles nothing
guarded_port=$(free_port)
SWPROF_REST_HOST=127.0.0.1 SWPROF_REST_PORT=$guarded_port SWPROF_DATA_DIR="$tmp/guarded" SWPROF_AUTH_REQUIRED=true \
SWPROF_PROFILING=false SWPROF_GRPC_ENABLED=false java "${lib[@]}" -jar "$jar" >"$tmp/guarded.log" 2>&1 &
guarded_pid=$!
wait_up() { # port pid log
  for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.5
  done
  echo "ui-check: no server on port $1" >&2; cat "$3" >&2; exit 1
}
wait_up "$port" "$server_pid" "$tmp/server.log"
wait_up "$guarded_port" "$guarded_pid" "$tmp/guarded.log"

cd ui-check
rc=0
SWPROF_URL="http://127.0.0.1:$port" SERVICE=uicheck-busy HOT=hot_loop PATH_SYMBOLS=main,outer \
  OUT="$root/ui-check/out" node check.mjs || rc=$?

# the server's page: the first busy program is done with (two cores), the page's own starts
kill "$busy_pid" && wait "$busy_pid" 2>/dev/null || true
busy_pid=
"$tmp/swprof-uicheck-view" spin >/dev/null &
view_pid=$!
SWPROF_URL="http://127.0.0.1:$port" SERVICE=uicheck-view HOT=hot_loop PATH_SYMBOLS=main,outer \
  SECOND="$tmp/swprof-uicheck-view syscall 300" GUARDED_URL="http://127.0.0.1:$guarded_port" \
  GUARDED_TOKEN_FILE="$tmp/guarded/auth-token" OUT="$root/ui-check/out" node viewer.mjs || rc=$?
[ "$rc" = 0 ] || { echo "--- server log" >&2; tail -20 "$tmp/server.log" >&2; }
exit "$rc"
