# Rewrites man/*.Rd and NAMESPACE from the roxygen2 comments in R/*.R
# (roxygen2 from CRAN or Debian's r-cran-roxygen2; the package's compiled
# code is not needed: the R files are sourced). Run from bindings/r/scmosaic:
#   Rscript tools/document.R
# With --check, writes nothing and fails when man/ or NAMESPACE is stale
# (bindings/r/build-package.sh runs it when roxygen2 is installed).
args <- commandArgs(TRUE)
check <- "--check" %in% args
pkg <- normalizePath(".")
stopifnot(file.exists(file.path(pkg, "DESCRIPTION")))
if (check) {
  tmp <- tempfile("scmosaic-doc")
  dir.create(tmp)
  file.copy(pkg, tmp, recursive = TRUE)
  work <- file.path(tmp, basename(pkg))
} else {
  work <- pkg
}
suppressMessages(roxygen2::roxygenise(work, roclets = c("rd", "namespace"),
                                      load_code = roxygen2::load_source))
if (check) {
  same <- function(rel) {
    a <- file.path(pkg, rel)
    b <- file.path(work, rel)
    file.exists(a) && file.exists(b) && identical(readLines(a), readLines(b))
  }
  files <- c("NAMESPACE", file.path("man", union(list.files(file.path(pkg, "man")),
                                                 list.files(file.path(work, "man")))))
  stale <- files[!vapply(files, same, logical(1))]
  if (length(stale)) {
    stop("stale documentation (run Rscript tools/document.R in bindings/r/scmosaic): ",
         paste(stale, collapse = ", "), call. = FALSE)
  }
  message("man/ and NAMESPACE are up to date")
}
