#!/usr/bin/env bash
# Installs the R package bindings/r/scmosaic into a temporary library (this
# builds the Rust crate in the workspace's target folder) and runs its
# testthat suite on the bundled data; fails on any test failure. Prints the
# install and test times. Needs R (r-base-core, r-base-dev), testthat and
# Matrix; the Seurat and SingleCellExperiment tests are skipped when those
# packages are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
lib="$(mktemp -d)"
trap 'rm -rf "$lib"' EXIT

t0=$(date +%s)
R CMD INSTALL --preclean --clean --no-multiarch -l "$lib" bindings/r/scmosaic
t1=$(date +%s)

SCMOSAIC_DATA="$root/data/reap_pbmc2" SCMOSAIC_ROOT="$root" R_LIBS="$lib" \
  Rscript -e '
    options(warn = 1)
    res <- testthat::test_dir("bindings/r/scmosaic/tests/testthat", package = "scmosaic",
                              load_package = "installed", stop_on_failure = TRUE)
  '
t2=$(date +%s)
echo "R package: install $((t1 - t0)) s, tests $((t2 - t1)) s"
