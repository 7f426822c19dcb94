#!/usr/bin/env bash
# The portable native library: libswprof_jni.so with RocksDB, libbpf, libelf, libunwind, zlib, LZ4 and protobuf-c linked in
# statically (and libstdc++/libgcc), so that it needs nothing but glibc (2.34 or newer) on an x86-64 Linux: what the
# OAP module ships (an OAP image has none of those libraries). Debian's static archives are not position
# independent, so the dependencies are built here from the same upstream sources Debian 12 ships (its .orig
# tarballs, checked against their SHA-256), once, into a cache:
#
#   scripts/build-portable.sh              build (first time: RocksDB takes 20-40 min on 2 cores), then check
#   scripts/build-portable.sh --check      only check an existing build-portable/libswprof_jni.so
#
#   SWPROF_DEPS_CACHE   where sources and built dependencies are kept (default ~/.cache/swprof)
#   JOBS                parallel compile jobs (default: the number of cores)
#
# The check: `ldd` lists glibc's libraries only, no symbol needs a glibc newer than 2.34, and the library loads
# (dlopen, and every JNI entry point resolves) in a root that holds nothing but glibc (a chroot built here).
# Output: build-portable/libswprof_jni.so. The OAP module's build (-Poap) packs it when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${SWPROF_DEPS_CACHE:-$HOME/.cache/swprof}
jobs=${JOBS:-$(nproc)}
src=$cache/src
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# name|file|sha256 (Debian 12's orig tarballs: the upstream releases)
deps=(
  "zlib|zlib_1.2.13.dfsg.orig.tar.bz2|71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1|pool/main/z/zlib"
  "lz4|lz4_1.9.4.orig.tar.gz|0b0e3aa07c8c063ddf40b082bdf7e37a1562bda40a0ff5272957f3e987e0e54b|pool/main/l/lz4"
  "elfutils|elfutils_0.188.orig.tar.bz2|fb8b0e8d0802005b9a309c60c1d8de32dd2951b56f0c3a3cb56d21ce01595dff|pool/main/e/elfutils"
  "libbpf|libbpf_1.1.2.orig.tar.gz|b50ab60637fb713db78aa98e6ca911ddf13c0799d498a1f6ec03ebffc7dca588|pool/main/libb/libbpf"
  "protobuf-c|protobuf-c_1.4.1.orig.tar.gz|4cc4facd508172f3e0a4d3a8736225d472418aee35b4ad053384b137b220339f|pool/main/p/protobuf-c"
  "rocksdb|rocksdb_7.8.3.orig.tar.gz|b85408a374770897332bf15e51620a5f35720dd416a4749e3899057f9cfaf84d|pool/main/r/rocksdb"
)
# added later, each into the same prefix with a mark of its own (a new one does not rebuild RocksDB)
extra_deps=(
  "libunwind|libunwind_1.6.2.orig.tar.gz|4a6aec666991fb45d0889c44aede8ad6eb108071c3554fcdff671f9c94794976|pool/main/libu/libunwind"
)
key=$(printf '%s\n' "${deps[@]}" | sha256sum | cut -c1-12)
prefix=$cache/portable-$key
export CFLAGS="-O2 -fPIC -g0" CXXFLAGS="-O2 -fPIC -g0"

log() { echo "build-portable: $*" >&2; }

fetch() { # name file sha dir -> the unpacked source directory
  local name=$1 file=$2 sha=$3 dir=$4
  mkdir -p "$src"
  if [ ! -f "$src/$file" ] || ! echo "$sha  $src/$file" | sha256sum -c --quiet >/dev/null 2>&1; then
    log "downloading $file"
    curl -fsSL --retry 3 -o "$src/$file.part" "http://deb.debian.org/debian/$dir/$file"
    echo "$sha  $src/$file.part" | sha256sum -c --quiet
    mv "$src/$file.part" "$src/$file"
  fi
  rm -rf "$src/$name" && mkdir -p "$src/$name"
  tar -xf "$src/$file" -C "$src/$name" --strip-components=1
  echo "$src/$name"
}

build_extra_deps() {
  local d
  for entry in "${extra_deps[@]}"; do
    IFS='|' read -r name file sha dir <<<"$entry"
    [ -f "$prefix/.done-$name-$sha" ] && continue
    d=$(fetch "$name" "$file" "$sha" "$dir")
    log "building $name"
    case $name in
      libunwind) # the generic (remote) and base libraries: no ptrace/coredump parts, no LZMA
        (cd "$d" && ./configure --prefix="$prefix" --enable-static --disable-shared --disable-minidebuginfo \
            --disable-zlibdebuginfo --disable-coredump --disable-ptrace --disable-setjmp --disable-tests \
            --disable-documentation --disable-cxx-exceptions >/dev/null && make -j"$jobs" >/dev/null &&
          make install >/dev/null) ;;
    esac
    rm -rf "$d"
    touch "$prefix/.done-$name-$sha"
  done
}

build_deps() {
  [ -f "$prefix/.done" ] && { build_extra_deps; return; }
  rm -rf "$prefix" && mkdir -p "$prefix/lib" "$prefix/include"
  local d
  for entry in "${deps[@]}"; do
    IFS='|' read -r name file sha dir <<<"$entry"
    d=$(fetch "$name" "$file" "$sha" "$dir")
    log "building $name"
    case $name in
      zlib)
        (cd "$d" && ./configure --static --prefix="$prefix" >/dev/null && make -j"$jobs" >/dev/null && make install >/dev/null) ;;
      lz4)
        make -C "$d/lib" -j"$jobs" liblz4.a >/dev/null
        cp "$d/lib/liblz4.a" "$prefix/lib/"; cp "$d/lib/lz4.h" "$d/lib/lz4hc.h" "$d/lib/lz4frame.h" "$prefix/include/" ;;
      elfutils) # libelf only
        (cd "$d" && ./configure --prefix="$prefix" --disable-debuginfod --disable-libdebuginfod --without-bzlib \
            --without-lzma --without-zstd --disable-nls CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" >/dev/null &&
          make -C lib -j"$jobs" >/dev/null && make -C libelf -j"$jobs" libelf.a >/dev/null)
        cp "$d/libelf/libelf.a" "$prefix/lib/"
        cp "$d/libelf/libelf.h" "$d/libelf/gelf.h" "$d/libelf/nlist.h" "$prefix/include/" ;;
      libbpf)
        make -C "$d/src" -j"$jobs" BUILD_STATIC_ONLY=1 OBJDIR="$d/obj" PREFIX="$prefix" LIBDIR="$prefix/lib" \
          EXTRA_CFLAGS="-fPIC -I$prefix/include" install >/dev/null ;;
      protobuf-c)
        (cd "$d" && ./configure --prefix="$prefix" --disable-protoc --enable-static --disable-shared >/dev/null &&
          make -j"$jobs" >/dev/null && make install >/dev/null) ;;
      rocksdb)
        cmake -S "$d" -B "$d/out" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
          -DCMAKE_INSTALL_PREFIX="$prefix" -DPORTABLE=ON -DFAIL_ON_WARNINGS=OFF -DROCKSDB_BUILD_SHARED=OFF \
          -DWITH_LZ4=ON -Dlz4_ROOT_DIR="$prefix" -DWITH_SNAPPY=OFF -DWITH_ZLIB=OFF -DWITH_ZSTD=OFF -DWITH_BZ2=OFF \
          -DWITH_GFLAGS=OFF -DWITH_LIBURING=OFF -DWITH_NUMA=OFF -DWITH_TBB=OFF -DWITH_JEMALLOC=OFF \
          -DWITH_TESTS=OFF -DWITH_BENCHMARK_TOOLS=OFF -DWITH_TOOLS=OFF -DWITH_CORE_TOOLS=OFF -DWITH_TRACE_TOOLS=OFF \
          -DWITH_JNI=OFF -DWITH_EXAMPLES=OFF >/dev/null
        nice -n 10 ninja -C "$d/out" -j"$jobs" rocksdb >/dev/null
        cp "$d/out/librocksdb.a" "$prefix/lib/"; cp -r "$d/include/rocksdb" "$prefix/include/" ;;
    esac
    rm -rf "$d"
  done
  touch "$prefix/.done"
  build_extra_deps
}

check() {
  local lib=$root/build-portable/libswprof_jni.so
  [ -f "$lib" ] || { log "no $lib: run scripts/build-portable.sh"; return 1; }
  log "checking $lib"
  local bad
  bad=$(ldd "$lib" | awk '{print $1}' | grep -vE '^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|/lib64/ld-linux-x86-64\.so\.2)$' || true)
  [ -z "$bad" ] || { log "needs more than glibc: $bad"; return 1; }
  local newest
  newest=$(objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  log "ldd: glibc only; newest symbol version $newest"
  [ "$(printf '%s\nGLIBC_2.34\n' "$newest" | sort -V | tail -1)" = GLIBC_2.34 ] ||
    { log "a symbol needs $newest (newer than 2.34)"; return 1; }

  # a root with glibc only: the loader, libc, libm (and the dl/pthread stubs), a small program that dlopens the
  # library and resolves its JNI entry points; nothing else of this machine is visible in it
  local jail
  jail=$(mktemp -d /tmp/swprof-jail-XXXXXX)
  trap 'rm -rf "$jail"' RETURN
  mkdir -p "$jail/lib64" "$jail/lib/x86_64-linux-gnu" "$jail/tmp"
  cp -L /lib64/ld-linux-x86-64.so.2 "$jail/lib64/"
  for l in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2; do cp -L "/lib/x86_64-linux-gnu/$l" "$jail/lib/x86_64-linux-gnu/"; done
  cp "$lib" "$jail/libswprof_jni.so"
  local syms
  syms=$(nm -D --defined-only "$lib" | awk '$3 ~ /^Java_|^JNI_OnLoad$/ {print $3}')
  {
    echo '#include <dlfcn.h>'
    echo '#include <stdio.h>'
    echo 'int main(void) {'
    echo '  void *h = dlopen("/libswprof_jni.so", RTLD_NOW | RTLD_LOCAL);'
    echo '  if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }'
    echo '  int n = 0, missing = 0;'
    for s in $syms; do echo "  if (dlsym(h, \"$s\")) n++; else { printf(\"missing $s\\n\"); missing++; }"; done
    echo '  printf("loaded; %d JNI entry points resolve\n", n); return missing != 0; }'
  } >"$jail/load.c"
  cc -O1 -o "$jail/load" "$jail/load.c" -ldl
  chroot "$jail" /load
  log "ok: $(basename "$lib") loads in a root with glibc only"
}

if [ $check_only = 0 ]; then
  build_deps
  log "dependencies in $prefix; building the library"
  cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWPROF_DEPS_PREFIX="$prefix" -DBUILD_TESTING=OFF >/dev/null
  ninja -C build-portable -j"$jobs" swprof_jni >/dev/null
fi
check
