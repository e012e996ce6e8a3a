# Regenerates R/extendr-wrappers.R from the Rust functions, as
# rextendr::document() does (rextendr is not needed): run after changing an
# exported Rust function, from bindings/r/scmosaic, with the package
# installed in LIB:
#   R CMD INSTALL -l LIB . && Rscript tools/update-wrappers.R LIB
# tests/testthat/test-wrappers.R fails when the file is stale.
args <- commandArgs(TRUE)
lib <- if (length(args)) args[1] else .libPaths()[1]
source(file.path("tools", "wrappers.R"))
writeLines(scmosaic_wrappers(lib), file.path("R", "extendr-wrappers.R"))
