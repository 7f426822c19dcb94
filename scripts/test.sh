#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then the native suite (ctest, with the
# real eBPF profiler), the same suite under ASan+UBSan, the Java/HTTP/gRPC suites, the end-to-end
# cases, agents on several namespaced hosts, the exports and the differential view, the reliability suite's short form, a real OAP with and without the module, and the browser check
# (ui-check).
# SWPROF_REQUIRE_BPF=1 turns a skipped BPF test into a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== native tests"
ctest --test-dir build --output-on-failure --timeout 600

echo "== native tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSWPROF_SANITIZE=ON -DSWPROF_JNI=OFF >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 600

if [ -f java-shim/pom.xml ] && [ -x scripts/test-java.sh ]; then
  echo "== Java shim and HTTP tests"
  scripts/test-java.sh
fi

echo "== end-to-end cases (e2e/cases) against the server, run locally"
e2e/run.py

echo "== many hosts: swprof agents in their own namespaces, one backend (e2e/hosts.py)"
e2e/hosts.py

echo "== exports: pprof read by go tool pprof, speedscope checked against its schema (e2e/exports.py)"
e2e/exports.py

echo "== the differential view: swprof diff of two recordings of a changed workload (e2e/diff.py)"
e2e/diff.py

echo "== reliability, short form: kill -9s, fuzzing, slow clients, amplification, a full disk (e2e/reliability.py)"
e2e/reliability.py

echo "== a real SkyWalking OAP 10.1.0: swprof agent against stock OAP, then OAP with swprof's module (e2e/oap.py)"
e2e/oap.py

echo "== browser checks: the analysis as a flame graph, and the server's page at /, in headless Chromium"
ui-check/install.sh >/dev/null
ui-check/run.sh
