#!/usr/bin/env bash
# Every benchmark of swprof in one command; prints ONE JSON document on stdout (progress on stderr).
#
#   bench/run.sh            full sizes, about twelve minutes (the README's table comes from this)
#   bench/run.sh --quick    small sizes, about a minute and a half (what CI runs to keep the bench working)
#   bench/run.sh --only analyzer,ingestion    some sections (analyzer overhead completeness ingestion symbolization
#                                            agent backend)
#
# Builds what it needs first: the native core in build/ (or --build DIR), the server jar, and the bench's own
# programs in bench/out/. Overhead, completeness and agent need root (BPF, perf); without it they are skipped. Nothing
# here is pass/fail: the exit status is non-zero only when a section broke.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="bench/run.sh${*:+ $*}"
build=build
args=()
while (($#)); do
  case "$1" in
    --build) build="$2"; args+=(--build "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

command -v python3 >/dev/null || { echo "bench: needs python3" >&2; exit 2; }
{
  [ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" -j1 swprof_static swprof_agent swprof_jni swprof_cli busy

  # the bench's programs, against the static core of that build
  mkdir -p bench/out
  flags=(-O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers)
  inc=(-Inative/include -Inative/src -Ibpf -I"$build/bpf" -I"$build/proto/gen")
  libs=("$build/libswprof_static.a" $(pkg-config --libs libbpf libelf libprotobuf-c libunwind-generic) -lz -lpthread -lstdc++ -lm -ldl)
  if [ ! -x bench/out/swpbench ] || [ -n "$(find bench/src "$build/libswprof_static.a" -newer bench/out/swpbench -print -quit)" ]; then
    cc "${flags[@]}" "${inc[@]}" bench/src/swpbench.c "${libs[@]}" -o bench/out/swpbench
  fi
  # the backend's load: simulated agents (the agent's gRPC client, gRPC's C core)
  if [ ! -x bench/out/agentload ] || [ -n "$(find bench/src "$build/libswprof_agent.a" -newer bench/out/agentload -print -quit)" ]; then
    cc "${flags[@]}" "${inc[@]}" bench/src/agentload.c "$build/libswprof_agent.a" "${libs[@]}" $(pkg-config --libs grpc) \
      -o bench/out/agentload
  fi
  if [ ! -x bench/out/spin ] || [ bench/src/spin.c -nt bench/out/spin ]; then
    cc "${flags[@]}" -fno-inline-functions bench/src/spin.c -lpthread -o bench/out/spin
  fi
  # the same workload without frame pointers (as distributions build), for the unwinding modes
  if [ ! -x bench/out/spin-nofp ] || [ bench/src/spin.c -nt bench/out/spin-nofp ]; then
    cc "${flags[@]}" -fomit-frame-pointer -fno-inline-functions bench/src/spin.c -lpthread -o bench/out/spin-nofp
  fi
  if [ ! -x bench/out/pingpong ] || [ bench/src/pingpong.c -nt bench/out/pingpong ]; then
    cc "${flags[@]}" bench/src/pingpong.c -lpthread -o bench/out/pingpong
  fi
  # the OFF_CPU anchor (libbpf-tools' offcputime), when the package can be had
  command -v offcputime >/dev/null || [ -x /usr/sbin/offcputime ] || \
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q libbpf-tools >/dev/null 2>&1 || true)

  # the server jar (its native library comes from $build at run time)
  jar=java-shim/shim/target/swprof-server.jar
  if [ ! -f "$jar" ] || [ -n "$(find java-shim/shim/src/main schema java-shim/config -newer "$jar" -print -quit)" ]; then
    mvn -B -q -f java-shim/pom.xml -T1 -pl shim -am package -DskipTests
  fi
} >&2

exec python3 bench/bench.py --command "$cmd" "${args[@]}"
