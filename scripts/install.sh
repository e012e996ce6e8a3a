#!/usr/bin/env bash
# Builds the release library and installs the C/C++ development files:
#
#   PREFIX=/some/prefix scripts/install.sh      (default PREFIX=/usr/local)
#
# installs
#   $PREFIX/lib/libscmosaic.so          shared library
#   $PREFIX/lib/libscmosaic.a           static library
#   $PREFIX/include/scmosaic.h          C header
#   $PREFIX/include/scmosaic.hpp        header-only C++17 wrapper
#   $PREFIX/lib/pkgconfig/scmosaic.pc   pkg-config file (version from Cargo.toml)
#
# Then: pkg-config --cflags --libs scmosaic             (shared)
#       pkg-config --static --cflags --libs scmosaic    (with -l:libscmosaic.a
#                                                        for the static library)
# DESTDIR=/staging is prepended to every installed path (for packaging); the
# pkg-config file still names PREFIX. CARGO_TARGET_DIR is honoured.
#
# The shared library has no SONAME (cargo sets none), so it is installed as
# plain libscmosaic.so; programs linked against it record that file name.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
case "$PREFIX" in
    /*) ;;
    *) PREFIX="$(pwd)/$PREFIX" ;;  # relative to where the script was called from
esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || PREFIX=/
DESTDIR=${DESTDIR:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CARGO=${CARGO:-cargo}
"$CARGO" build --release --lib

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in
    /*) ;;
    *) TARGET_DIR="$ROOT/$TARGET_DIR" ;;
esac
LIB_DIR="$TARGET_DIR/release"

# The [package] version of Cargo.toml.
VERSION=$(awk '
    /^\[/ { in_pkg = ($0 ~ /^\[package\][[:space:]]*$/) }
    in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
        v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); print v; exit
    }' Cargo.toml)
if [ -z "$VERSION" ]; then
    echo "install.sh: cannot read the package version from Cargo.toml" >&2
    exit 1
fi

for f in "$LIB_DIR/libscmosaic.so" "$LIB_DIR/libscmosaic.a" include/scmosaic.h \
         bindings/cpp/scmosaic.hpp scmosaic.pc.in; do
    if [ ! -f "$f" ]; then
        echo "install.sh: missing $f" >&2
        exit 1
    fi
done

DEST="$DESTDIR$PREFIX"
install -d "$DEST/lib" "$DEST/lib/pkgconfig" "$DEST/include"
install -m 0755 "$LIB_DIR/libscmosaic.so" "$DEST/lib/libscmosaic.so"
install -m 0644 "$LIB_DIR/libscmosaic.a" "$DEST/lib/libscmosaic.a"
install -m 0644 include/scmosaic.h "$DEST/include/scmosaic.h"
install -m 0644 bindings/cpp/scmosaic.hpp "$DEST/include/scmosaic.hpp"

# Escape the values for the sed replacement (\, & and the | delimiter).
sed_escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }
pc_tmp=$(mktemp)
trap 'rm -f "$pc_tmp"' EXIT
sed -e "s|@PREFIX@|$(sed_escape "$PREFIX")|g" \
    -e "s|@VERSION@|$(sed_escape "$VERSION")|g" scmosaic.pc.in > "$pc_tmp"
install -m 0644 "$pc_tmp" "$DEST/lib/pkgconfig/scmosaic.pc"

echo "installed scmosaic $VERSION into $DEST"
echo "  $DEST/lib/libscmosaic.so"
echo "  $DEST/lib/libscmosaic.a"
echo "  $DEST/include/scmosaic.h"
echo "  $DEST/include/scmosaic.hpp"
echo "  $DEST/lib/pkgconfig/scmosaic.pc"
