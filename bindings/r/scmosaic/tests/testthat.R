# R CMD check entry point; bindings/r/run-tests.sh runs the same suite with
# testthat::test_dir() after installing the package into a temporary library.
library(testthat)
library(scmosaic)
test_check("scmosaic")
