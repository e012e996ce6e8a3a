#!/usr/bin/env bash
# Installs the R package from the repository folder bindings/r/scmosaic into a
# temporary library (this builds the Rust crate in the workspace's target
# folder) and runs its testthat suite (data shipped in the package's
# inst/extdata, plus the repository's R walkthrough); fails on any test
# failure. Prints the install and test times. Needs R (r-base-core,
# r-base-dev), testthat and Matrix; the Seurat, SingleCellExperiment and
# BiocParallel tests are skipped when those packages are missing. The source
# package (tarball) and R CMD check: bindings/r/build-package.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
lib="$(mktemp -d)"
trap 'rm -rf "$lib"' EXIT

t0=$(date +%s)
R CMD INSTALL --preclean --clean --no-multiarch -l "$lib" bindings/r/scmosaic
t1=$(date +%s)

SCMOSAIC_ROOT="$root" R_LIBS="$lib" \
  Rscript -e '
    options(warn = 1)
    res <- testthat::test_dir("bindings/r/scmosaic/tests/testthat", package = "scmosaic",
                              load_package = "installed", stop_on_failure = TRUE)
  '
t2=$(date +%s)
echo "R package: install $((t1 - t0)) s, tests $((t2 - t1)) s"
