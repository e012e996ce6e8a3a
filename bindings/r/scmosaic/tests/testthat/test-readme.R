# The repository's R walkthrough, run exactly as written: the ```r block
# between the markers <!-- r-vignette-begin --> and <!-- r-vignette-end --> of
# README.md or docs/r.md, on a small Seurat object named `pbmc`. Runs only
# inside the repository (bindings/r/run-tests.sh); R CMD check on the source
# package skips it (the package's own walkthrough is its vignette, which R CMD
# check runs).

readme_block <- function() {
  root <- repo_root()
  if (is.null(root)) return(NULL)
  for (f in c("README.md", file.path("docs", "r.md"))) {
    path <- file.path(root, f)
    if (!file.exists(path)) next
    lines <- readLines(path, warn = FALSE)
    a <- grep("<!-- r-vignette-begin -->", lines, fixed = TRUE)
    b <- grep("<!-- r-vignette-end -->", lines, fixed = TRUE)
    if (!length(a) && !length(b)) next
    if (length(a) != 1L || length(b) != 1L || b <= a) stop(f, ": unpaired walkthrough markers")
    block <- lines[(a + 1):(b - 1)]
    open <- grep("^```r\\s*$", block)
    close <- grep("^```\\s*$", block)
    stopifnot(length(open) == 1L, length(close) >= 1L)
    return(block[(open + 1):(close[close > open][1] - 1)])
  }
  NULL
}

test_that("the README's Seurat walkthrough runs as written", {
  skip_if_not_installed("Seurat")
  code <- readme_block()
  skip_if(is.null(code), "no repository walkthrough (README.md / docs/r.md markers) here")
  expect_true(length(code) > 5)
  env <- new.env(parent = globalenv())
  env$pbmc <- small_seurat(300)
  rna_only_expected <- colnames(env$pbmc)[small()$test[1:300]]
  # Plots go to a null device (no Rplots.pdf); Seurat's progress output goes
  # to stdout and stderr: keep the log quiet.
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  out <- capture.output(err <- capture.output(suppressWarnings(suppressMessages(
    eval(parse(text = code), envir = env)
  )), type = "message"))
  pbmc <- env$pbmc
  expect_true(all(c("scvaeit", "umap") %in% SeuratObject::Reductions(pbmc)))
  expect_true("ADT.imputed" %in% SeuratObject::Assays(pbmc))
  expect_setequal(env$rna_only, rna_only_expected)
  expect_equal(dim(env$adt_imputed), c(43L, length(rna_only_expected)))
  expect_true(all(is.finite(as.matrix(env$adt_imputed))))
})
