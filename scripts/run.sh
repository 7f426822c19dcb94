#!/usr/bin/env bash
# Sets up (packages, native build, server jar) and runs the swprof server on 127.0.0.1:12800 with
# its data in ./data. Configuration: --config FILE (see java-shim/config/swprof.yml) and
# SWPROF_* environment variables. Profiling needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jar=java-shim/shim/target/swprof-server.jar
if [ ! -f "$jar" ] || [ -n "$(find native bpf java-shim/shim/src schema java-shim/config ui/src ui/package-lock.json build/libswprof_jni.so -newer "$jar" -print -quit)" ]; then
  mvn -B -q -f java-shim/pom.xml -T1 -pl shim -am package -DskipTests
fi
exec java -jar "$jar" "$@"
