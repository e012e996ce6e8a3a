#!/usr/bin/env bash
# Builds the self-contained R source package (scmosaic_<version>.tar.gz): the
# package folder plus everything its Rust crate needs, so that the tarball
# installs with R, cargo and rustc only, without this repository and without
# network access.
#
#   bindings/r/build-package.sh [--out DIR] [--no-vignettes] [--check]
#
#   --out DIR        where the tarball goes (default: out/r, created)
#   --no-vignettes   R CMD build --no-build-vignettes (quicker; the tarball then
#                    lacks the rendered vignette)
#   --check          then run R CMD check --no-manual on the tarball, in an
#                    empty folder outside the repository with CARGO_HOME
#                    pointing at an empty folder (so nothing but the tarball's
#                    own crates can be used) and fail on an ERROR or WARNING
#
# What goes into the tarball (staged in a temporary copy of
# bindings/r/scmosaic, so the repository is not touched):
#   src/rust/scmosaic-core/   the core crate: src/ and a Cargo.toml cut down to
#                             [package], [lib] (rlib only), [features] and
#                             [dependencies]
#   src/rust/Cargo.toml       the R crate, depending on scmosaic-core by path,
#                             as a workspace of its own
#   src/rust/Cargo.lock       the repository's Cargo.lock pruned to this
#                             workspace (same versions)
#   src/rust/vendor.tar.xz    `cargo vendor` of that lock file, where crates
#                             that no supported platform compiles (Windows,
#                             wasm, CUDA, Vulkan, ...) are replaced by empty
#                             stubs that keep their Cargo.toml, as
#                             cargo-vendor-filterer does: cargo needs every
#                             package of the lock file to resolve, but compiles
#                             only the ones the target uses. Kept in full: every
#                             crate `cargo tree -e normal,build` lists for the
#                             R crate's default (CPU) features on
#                             x86_64/aarch64 Linux and macOS.
#   src/rust/vendor-config.toml  the cargo source replacement for vendor/
# src/Makevars (written by ./configure) unpacks vendor.tar.xz and builds with
# `cargo build --offline --locked`.
#
# Needs cargo (and network access, or a cargo registry cache that holds every
# crate of Cargo.lock, including other platforms'), R, tar and xz. Set
# SCMOSAIC_CARGO_TARGET_DIR to an absolute folder to share compiled crates
# between the installs of R CMD build (vignette) and R CMD check (as CI does):
# src/Makevars then unpacks the vendored crates there too, at the same path
# for both installs, which cargo needs to reuse them (measured: R CMD check
# 902 s without, 177 s with that).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
pkg="$root/bindings/r/scmosaic"

out="$root/out/r"
vignettes=1
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --no-vignettes) vignettes=0; shift ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
t0=$(date +%s)

# 1. The package folder: the files git tracks or would track (no build
# leftovers), else everything but known leftovers.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root/bindings/r" && git ls-files -co --exclude-standard -z scmosaic |
    tar --null -T - -cf -) | tar -C "$stage" -xf -
else
  tar -C "$root/bindings/r" \
    --exclude='scmosaic/src/rust/target' --exclude='scmosaic/src/vendor' \
    --exclude='scmosaic/src/.cargo' --exclude='scmosaic/src/Makevars' \
    --exclude='*.o' --exclude='*.so' --exclude='*.dll' \
    --exclude='scmosaic/tests/testthat/Rplots.pdf' \
    -cf - scmosaic | tar -C "$stage" -xf -
fi
rust="$stage/scmosaic/src/rust"

# 2. The core crate: its sources (and build script, if any) and the parts of
# its manifest a dependency needs.
mkdir -p "$rust/scmosaic-core"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -co --exclude-standard -z src | tar --null -T - -cf -) |
    tar -C "$rust/scmosaic-core" -xf -
else
  cp -R "$root/src" "$rust/scmosaic-core/src"
fi
[ -f "$root/build.rs" ] && cp "$root/build.rs" "$rust/scmosaic-core/"
awk '
  /^\[/ {
    keep = ($0 == "[package]" || $0 == "[lib]" || $0 == "[features]" ||
            $0 ~ /^\[(build-)?dependencies(\..*)?\]$/ ||
            $0 ~ /^\[target\..*\.(build-)?dependencies(\..*)?\]$/)
  }
  keep { if ($0 ~ /^crate-type *=/) print "crate-type = [\"rlib\"]"; else print }
' "$root/Cargo.toml" > "$rust/scmosaic-core/Cargo.toml"
if grep -q 'workspace *= *true\|\.workspace *=' "$rust/scmosaic-core/Cargo.toml"; then
  echo "build-package.sh: the core's Cargo.toml inherits settings from the workspace" \
    "(workspace = true), which the copied crate cannot; resolve them in step 2" >&2
  exit 1
fi

# 3. The R crate as its own workspace, depending on the copied core.
manifest="$rust/Cargo.toml"
grep -q '^scmosaic = { path = "\(\.\./\)*\.\." }' "$manifest" || {
  echo "build-package.sh: no 'scmosaic = { path = \"../../../../..\" }' line in $manifest" >&2
  exit 1
}
sed -i.bak 's|^scmosaic = { path = "\(\.\./\)*\.\." }|scmosaic = { path = "scmosaic-core" }|' "$manifest"
rm -f "$manifest.bak"
cat >> "$manifest" <<'EOF'

# Added by bindings/r/build-package.sh: in the source package this crate is a
# workspace of its own (the repository's workspace is not there).
[workspace]
exclude = ["scmosaic-core"]

[profile.release]
panic = "unwind"
EOF
cp "$root/Cargo.lock" "$rust/Cargo.lock"

# 4. Prune the lock file (no version changes: cargo keeps the locked ones) and
# vendor it.
(cd "$rust" && cargo metadata --format-version 1 >/dev/null)
(cd "$rust" && cargo vendor --locked --quiet vendor >/dev/null)
cat > "$rust/vendor-config.toml" <<'EOF'
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
EOF

# 5. Replace the crates no supported platform compiles by stubs.
need="$stage/need.txt"
for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-apple-darwin aarch64-apple-darwin; do
  (cd "$rust" && cargo tree --offline --locked -p scmosaic-r -e normal,build --target "$t" \
    --prefix none --format '{p}') | sed 's/ (.*//; s/ v/ /'
done | sort -u > "$need"
manifest_value() { # key of [package] in a Cargo.toml
  awk -F' = ' -v key="$2" '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 }
    p && $1 == key { gsub(/"/, "", $2); print $2; exit }' "$1"
}
kept=0
stubbed=0
for dir in "$rust"/vendor/*/; do
  dir="${dir%/}"
  name="$(manifest_value "$dir/Cargo.toml" name)"
  version="$(manifest_value "$dir/Cargo.toml" version)"
  if grep -qxF "$name $version" "$need"; then
    kept=$((kept + 1))
    continue
  fi
  stubbed=$((stubbed + 1))
  sum="$(sed -n 's/.*"package":"\([0-9a-f]*\)".*/\1/p' "$dir/.cargo-checksum.json")"
  # Files the manifest names (lib/bin/bench paths, build script, readme)
  # stay, empty, so the manifest still loads; everything else goes.
  files="$(grep -o '"[^"]*"' "$dir/Cargo.toml" | tr -d '"' | while read -r f; do
    case "$f" in /*|*..*) ;; *) [ -f "$dir/$f" ] && printf '%s\n' "$f" ;; esac
  done || true)"
  [ -f "$dir/build.rs" ] && files="$files"$'\n'build.rs
  mv "$dir/Cargo.toml" "$stage/Cargo.toml.keep"
  rm -rf "$dir"
  mkdir -p "$dir/src"
  mv "$stage/Cargo.toml.keep" "$dir/Cargo.toml"
  : > "$dir/src/lib.rs"
  while read -r f; do
    if [ -n "$f" ] && [ "$f" != Cargo.toml ]; then
      mkdir -p "$dir/$(dirname "$f")"
      : > "$dir/$f"
    fi
  done <<< "$files"
  printf '{"files":{},"package":"%s"}' "$sum" > "$dir/.cargo-checksum.json"
done
tar -C "$rust" -cf - vendor | xz -6 -T1 > "$rust/vendor.tar.xz"
rm -rf "$rust/vendor" "$rust/target"
echo "vendored $kept crates and $stubbed stubs: vendor.tar.xz $(du -k "$rust/vendor.tar.xz" | cut -f1) KiB"

# 6. R CMD build.
t1=$(date +%s)
build_args=(--no-manual)
[ "$vignettes" = 0 ] && build_args+=(--no-build-vignettes)
(cd "$out" && R CMD build "${build_args[@]}" "$stage/scmosaic")
version="$(sed -n 's/^Version: *//p' "$pkg/DESCRIPTION")"
tarball="$out/scmosaic_${version}.tar.gz"
t2=$(date +%s)
echo "tarball: $tarball ($(du -k "$tarball" | cut -f1) KiB); staging and vendoring $((t1 - t0)) s, R CMD build $((t2 - t1)) s"

[ "$check" = 1 ] || exit 0

# 7. R CMD check in an empty folder, with an empty CARGO_HOME.
work="$(mktemp -d)"
trap 'rm -rf "$stage" "$work"' EXIT
cp "$tarball" "$work/"
mkdir -p "$work/cargo-home"
(cd "$work" && CARGO_HOME="$work/cargo-home" CARGO_NET_OFFLINE=true \
  _R_CHECK_FORCE_SUGGESTS_=true R CMD check --no-manual "$(basename "$tarball")") ||
  { cat "$work"/scmosaic.Rcheck/00install.out 2>/dev/null | tail -40;
    for f in "$work"/scmosaic.Rcheck/tests/*.Rout.fail; do [ -f "$f" ] && tail -60 "$f"; done;
    exit 1; }
t3=$(date +%s)
log="$work/scmosaic.Rcheck/00check.log"
cp "$log" "$out/00check.log"
if grep -q '^Status:.*\(ERROR\|WARNING\)' "$log"; then
  echo "R CMD check: an ERROR or WARNING (log: $out/00check.log)" >&2
  exit 1
fi
echo "R CMD check $((t3 - t2)) s: $(grep '^Status:' "$log")"
