test_that("R/extendr-wrappers.R matches the compiled Rust functions", {
  src <- file.path(repo_root() %||% "", "bindings", "r", "scmosaic")
  if (!file.exists(file.path(src, "R", "extendr-wrappers.R"))) {
    src <- find_upwards(file.path("R", "extendr-wrappers.R"))
    src <- if (is.null(src)) "" else dirname(dirname(src))
  }
  skip_if(!nzchar(src), "package sources not found")
  source(file.path(src, "tools", "wrappers.R"), local = TRUE)
  lib <- dirname(find.package("scmosaic"))
  expect_identical(
    readLines(file.path(src, "R", "extendr-wrappers.R")),
    scmosaic_wrappers(lib),
    info = "run tools/update-wrappers.R (see its header) after changing exported Rust functions"
  )
})
