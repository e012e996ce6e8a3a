# scmosaic: R interface to the scmosaic Rust library (scVAEIT).
#
# Layout: R/extendr-wrappers.R holds the generated .Call wrappers of the Rust
# functions (all ending in `_`, internal); the public API is in R/data.R
# (inputs), R/model.R (verbs), R/seurat.R and R/sce.R (one-call verbs).

.onUnload <- function(libpath) {
  library.dynam.unload("scmosaic", libpath)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Errors carry the class "scmosaic_error" and no call, so that messages read
# the same whether they come from R checks or from Rust.
.abort <- function(...) {
  msg <- paste0(...)
  stop(structure(
    class = c("scmosaic_error", "error", "condition"),
    list(message = msg, call = NULL)
  ))
}

# Runs a Rust call, re-signalling its error as a scmosaic_error.
.rs <- function(expr) {
  tryCatch(expr, error = function(e) .abort(conditionMessage(e)))
}

.need <- function(pkg, what) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    .abort(what, " needs the package '", pkg, "', which is not installed")
  }
}

.no_dots <- function(..., fun) {
  dots <- list(...)
  if (length(dots)) {
    nm <- names(dots)
    nm[is.null(nm) | nm == ""] <- "<unnamed>"
    .abort(fun, "(): unknown argument", if (length(nm) > 1) "s", ": ",
           paste(nm, collapse = ", "))
  }
}

.is_count <- function(x, what, positive = FALSE) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && x >= 0 &&
    x == round(x) && (!positive || x > 0)
  if (!ok) {
    .abort("'", what, "' must be a ", if (positive) "positive" else "non-negative",
           " whole number")
  }
  as.integer(x)
}

.is_flag <- function(x, what) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    .abort("'", what, "' must be TRUE or FALSE")
  }
  x
}
