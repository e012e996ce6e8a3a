#!/usr/bin/env bash
# Every test: the Rust suites (unit, integration, real data, header staleness,
# Julia ccall check, fuzz regressions, doc tests), the C tests against the
# shared and static library (plus valgrind), and the C++ example through
# pkg-config. Needs gcc/g++, zlib headers, pkg-config and valgrind
# (.ci/run installs them); VALGRIND=0 skips the valgrind runs.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "cargo test --release"
cargo test --release

step "C tests (tests/c)"
tests/c/run.sh

step "C++ example through pkg-config (tests/cpp)"
tests/cpp/run.sh

step "all tests passed"
