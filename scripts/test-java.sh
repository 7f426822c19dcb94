#!/usr/bin/env bash
# The Java shim's suites (JNI, GraphQL resolvers, HTTP, end to end with BPF) and the OAP module,
# against the native library in build/ (scripts/setup.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
ninja -C build swprof_jni
# the portable library, when scripts/build-portable.sh made one: the OAP module packs it, so it must be current
if [ -f build-portable/build.ninja ]; then ninja -C build-portable swprof_jni; fi
mvn -B -f java-shim/pom.xml -T1 -Poap verify
