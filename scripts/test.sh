#!/usr/bin/env bash
# Every test: the Rust suites (unit, integration, real data, header staleness,
# Julia binding staleness, fuzz regressions, doc tests), the C tests against the
# shared and static library (plus valgrind), the C++ example through
# pkg-config, and the R package's testthat suite. Needs gcc/g++, zlib headers,
# pkg-config and valgrind (.ci/run installs them); VALGRIND=0 skips the
# valgrind runs. The R step runs when R and testthat are installed (.ci/run
# installs them and sets SCMOSAIC_REQUIRE_R=1, which makes their absence an
# error).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "cargo test --release"
cargo test --release

step "C tests (tests/c)"
tests/c/run.sh

step "C++ example through pkg-config (tests/cpp)"
tests/cpp/run.sh

step "R package (bindings/r/run-tests.sh)"
if command -v Rscript >/dev/null 2>&1 &&
  Rscript -e 'quit(status = !requireNamespace("testthat", quietly = TRUE))' >/dev/null 2>&1; then
  bindings/r/run-tests.sh
elif [ "${SCMOSAIC_REQUIRE_R:-0}" = 1 ]; then
  echo "R with testthat is required (SCMOSAIC_REQUIRE_R=1) but not installed" >&2
  exit 1
else
  echo "skipped: R with testthat not installed (.ci/run installs it)"
fi

step "all tests passed"
