#!/usr/bin/env bash
# Installs what swprof needs on a Debian machine (only what is missing) and builds it.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake ninja-build pkg-config clang llvm bpftool libbpf-dev libelf-dev
      libunwind-dev librocksdb-dev zlib1g-dev openjdk-17-jdk-headless maven linux-perf
      libclang-rt-14-dev libc6-dbg procps iproute2 util-linux
      libprotobuf-c-dev protobuf-c-compiler libgrpc-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# the runtimes whose JIT frames the tests name (Java comes with the JDK above): Node.js, unless one is on PATH; with
# npm, which the jar's build runs to bundle the server's page (ui/build.sh)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  need=(); command -v node >/dev/null || need+=(nodejs); command -v npm >/dev/null || need+=(npm)
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# tracefs for tracepoints (harmless when already mounted or not permitted)
if [ "$(id -u)" -eq 0 ] && [ -d /sys/kernel/tracing ] && ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

# SkyWalking's agent protocol: the .proto files ship in the Maven artifact apm-network (the native build
# compiles them with protoc-c; the Java build uses its stubs)
jar=~/.m2/repository/org/apache/skywalking/apm-network/10.1.0/apm-network-10.1.0.jar
if [ ! -f "$jar" ]; then
  echo "setup: fetching org.apache.skywalking:apm-network:10.1.0 (the agent protocol's .proto files)"
  mvn -B -q dependency:get -Dartifact=org.apache.skywalking:apm-network:10.1.0 -Dtransitive=false
fi

[ "${1:-}" = "--no-build" ] && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
