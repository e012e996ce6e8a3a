#!/usr/bin/env bash
# Builds the C tests against the shared and the static library, runs them,
# and runs errors, embed, continuous and lifecycle under valgrind (memory errors and definite or
# indirect leaks fail; burn-autodiff's process-global graph registry shows as
# "possibly lost" at exit, and churn.c checks that memory does not grow over
# 300 create/train/free cycles).
# Usage: tests/c/run.sh            (VALGRIND=0 skips the valgrind runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --lib --quiet
lib="$root/target/release"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cflags=(-std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -I"$root/include")
# Native libraries the static Rust library needs (cargo's native-static-libs).
static_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)

for t in lifecycle errors embed continuous churn; do
  gcc "${cflags[@]}" "tests/c/$t.c" -o "$out/$t-shared" -L"$lib" -lscmosaic \
    -Wl,-rpath,"$lib" -lz -lm -lpthread
  gcc "${cflags[@]}" "tests/c/$t.c" -o "$out/$t-static" "$lib/libscmosaic.a" \
    -lz "${static_libs[@]}"
done
echo "compiled tests/c/{lifecycle,errors,embed,continuous,churn}.c against libscmosaic.so and libscmosaic.a"

data="$root/data/reap_pbmc2"
for kind in shared static; do
  echo "--- errors ($kind)"
  "$out/errors-$kind" "$out" | grep -v '^  ok'
  echo "--- embed ($kind)"
  "$out/embed-$kind" | grep -v '^  ok'
  echo "--- continuous covariates ($kind)"
  "$out/continuous-$kind" | grep -v '^  ok'
  echo "--- lifecycle ($kind, 400 real cells)"
  "$out/lifecycle-$kind" "$data" "$out" 400
  echo "--- churn ($kind)"
  "$out/churn-$kind"
done

if [ "${VALGRIND:-1}" != "0" ]; then
  vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
      --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
  echo "--- valgrind: errors (shared)"
  "${vg[@]}" "$out/errors-shared" "$out" | grep -v '^  ok'
  echo "--- valgrind: embed (shared)"
  "${vg[@]}" "$out/embed-shared" | grep -v '^  ok'
  echo "--- valgrind: continuous covariates (shared)"
  "${vg[@]}" "$out/continuous-shared" | grep -v '^  ok'
  echo "--- valgrind: lifecycle (static, 120 real cells)"
  "${vg[@]}" "$out/lifecycle-static" "$data" "$out" 120
  echo "valgrind: no memory errors, no definite or indirect leaks"
fi
