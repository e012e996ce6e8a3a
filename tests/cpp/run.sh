#!/usr/bin/env bash
# End-to-end test of the C/C++ installation: installs into a temporary prefix
# with scripts/install.sh, then builds examples/cpp/example.cpp against the
# installed files through pkg-config, linked to the shared library and to the
# static one, and runs both; then builds and runs the README's C and C++
# examples (examples/c/minimal.c, examples/cpp/minimal.cpp) the same way. Exits non-zero on any failure. Runnable from any
# directory. CXX overrides the compiler (default g++); KEEP=1 keeps the
# temporary directory. SANITIZE=1 also builds and runs an
# -fsanitize=address,undefined variant (shared library).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

CXX=${CXX:-g++}
CXXFLAGS_STRICT=(-std=c++17 -O2 -Wall -Wextra -Werror -pedantic)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/scmosaic-cpp-test.XXXXXX")
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

PREFIX="$WORK/prefix"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# Only the freshly installed scmosaic.pc may be found.
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig"

step() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

step "install into $PREFIX"
t=$(now)
PREFIX="$PREFIX" scripts/install.sh
echo "install: $(elapsed "$t")"

step "pkg-config"
VERSION=$(pkg-config --modversion scmosaic)
CFLAGS_LIBS=$(pkg-config --cflags --libs scmosaic)
STATIC_FLAGS=$(pkg-config --static --cflags --libs scmosaic)
echo "version:          $VERSION"
echo "--cflags --libs:  $CFLAGS_LIBS"
echo "--static:         $STATIC_FLAGS"
case "$CFLAGS_LIBS" in
    *"-I$PREFIX/include"*"-L$PREFIX/lib"*"-lscmosaic"*) ;;
    *) echo "FAIL: unexpected pkg-config flags" >&2; exit 1 ;;
esac

step "build, shared library"
t=$(now)
# shellcheck disable=SC2086  # word splitting of the pkg-config flags is intended
"$CXX" "${CXXFLAGS_STRICT[@]}" examples/cpp/example.cpp $CFLAGS_LIBS -o "$WORK/example-shared"
echo "build: $(elapsed "$t")"
if ! readelf -d "$WORK/example-shared" | grep -q 'NEEDED.*libscmosaic'; then
    echo "FAIL: example-shared does not link libscmosaic dynamically" >&2
    exit 1
fi

step "run, shared library"
t=$(now)
LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$WORK/example-shared"
echo "run: $(elapsed "$t")"

step "build, static library"
# pkg-config --static adds Libs.private; -l:libscmosaic.a picks the archive
# over the shared library in the same directory.
STATIC_LINK=${STATIC_FLAGS//-lscmosaic/-l:libscmosaic.a}
t=$(now)
# shellcheck disable=SC2086
"$CXX" "${CXXFLAGS_STRICT[@]}" examples/cpp/example.cpp $STATIC_LINK -o "$WORK/example-static"
echo "build: $(elapsed "$t")"
if readelf -d "$WORK/example-static" | grep -q 'NEEDED.*libscmosaic'; then
    echo "FAIL: example-static still needs the shared libscmosaic" >&2
    exit 1
fi

step "run, static library"
t=$(now)
env -u LD_LIBRARY_PATH "$WORK/example-static"
echo "run: $(elapsed "$t")"

step "README examples: examples/c/minimal.c and examples/cpp/minimal.cpp through pkg-config"
# shellcheck disable=SC2086
"${CC:-gcc}" -std=c99 -Wall -Wextra -Werror -pedantic examples/c/minimal.c $CFLAGS_LIBS -o "$WORK/minimal-c"
# shellcheck disable=SC2086
"$CXX" "${CXXFLAGS_STRICT[@]}" examples/cpp/minimal.cpp $CFLAGS_LIBS -o "$WORK/minimal-cpp"
(cd "$WORK" && LD_LIBRARY_PATH="$PREFIX/lib" ./minimal-c && LD_LIBRARY_PATH="$PREFIX/lib" ./minimal-cpp)
test -s "$WORK/minimal.safetensors"

if [ "${SANITIZE:-0}" = 1 ]; then
    step "build + run, -fsanitize=address,undefined (shared library)"
    # shellcheck disable=SC2086
    "$CXX" "${CXXFLAGS_STRICT[@]}" -O1 -g -fno-omit-frame-pointer \
        -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        examples/cpp/example.cpp $CFLAGS_LIBS -o "$WORK/example-asan"
    LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$WORK/example-asan"
fi

printf '\nPASS: C++ wrapper, shared and static (scmosaic %s)\n' "$VERSION"
