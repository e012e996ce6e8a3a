# scmosaic: R interface to the scmosaic Rust library (scVAEIT, Multigrate).
#
# Layout: R/extendr-wrappers.R holds the generated .Call wrappers of the Rust
# functions (all ending in `_`, internal); the public API is in R/data.R
# (inputs), R/model.R (models), R/infer.R (embedding, imputation),
# R/parallel.R (BiocParallel workers), R/seurat.R and R/sce.R (one-call
# verbs), R/example.R (shipped data) and R/deprecated.R. Documentation is
# roxygen2 comments: after editing them run, from bindings/r/scmosaic,
#   Rscript tools/document.R
# which rewrites man/ and NAMESPACE.

#' scmosaic: mosaic single-cell integration and imputation
#'
#' R interface to the scmosaic Rust library: the scVAEIT (Du, Cai and
#' Roeder, PNAS 2022) and Multigrate (Lotfollahi et al., 2022) models for
#' mosaic single-cell data, where each cell measures only some modalities
#' (RNA, surface protein, chromatin accessibility). Both train a variational
#' autoencoder, embed cells in a joint latent space and impute the
#' modalities a cell lacks.
#'
#' Start with the vignette: `vignette("scmosaic", package = "scmosaic")`.
#'
#' - Seurat: [RunScVAEIT()], [RunMultigrate()].
#' - SingleCellExperiment: [runScVAEIT()], [runMultigrate()].
#' - Matrices: [scmosaic_data()], [fit_mosaic()], [embed_cells()],
#'   [impute_modality()], [map_query()].
#' - Models: [save_model()], [load_model()], [model_features()],
#'   [training_history()]; `print()` and `summary()` name the model's kind.
#' - Larger data: `BPPARAM` of [embed_cells()] and [impute_modality()] runs
#'   inference on BiocParallel workers, local or on a cluster.
#' - Example data: [scmosaic_example()].
#'
#' Models are saved as the same `safetensors` files the C, C++, Julia and
#' Rust interfaces read.
#'
#' @keywords internal
"_PACKAGE"

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

# Calls the function named `target` with the arguments in `...` and then
# every other argument of the calling function (but its `...`) by name, all
# unevaluated (promises in the caller's frame): as if the caller had written
# `target(..., x = x, model = model, ...)`.
.forward <- function(target, ...) {
  given <- as.list(substitute(list(...)))[-1L]
  nms <- setdiff(names(formals(sys.function(sys.parent()))), c("...", names(given)))
  args <- stats::setNames(lapply(nms, as.name), nms)
  eval(as.call(c(as.name(target), given, args)), parent.frame())
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
