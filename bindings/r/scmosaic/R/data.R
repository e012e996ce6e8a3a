# Inputs: named lists of features x cells matrices (dgCMatrix or base
# matrices), Seurat objects and SingleCellExperiment objects, all turned into
# a "scmosaic_data" object: a Rust dataset behind an external pointer plus the
# cell names.
#
# Missing modalities. A cell lacks a modality when
#   (a) it is not among the columns of that modality's matrix (cells are
#       matched by column name; e.g. an assay holding a subset of the cells),
#   (b) its counts for that modality are all zero (zero_as_missing = TRUE,
#       the default; this is how Seurat v4 objects, whose assays share all
#       cells, hold cells without protein), or
#   (c) it is listed in `missing`, e.g. missing = list(ADT = c("cell1", ...)).
#
# Covariates. `covariates` are categorical (batch, donor; one label per cell),
# `continuous_covariates` numeric (percent.mt, age; NA = missing value, which
# scVAEIT maps to the training mean and Multigrate rejects).

.likelihoods <- c("nb", "zinb", "bernoulli", "gaussian", "poisson")

#' Build a scmosaic dataset
#'
#' Converts count matrices, a Seurat object or a SingleCellExperiment into the
#' dataset the models read: one modality per matrix, assay or experiment,
#' cells matched by name, and per-cell flags saying which modalities each
#' cell has. The verbs accept the same inputs directly; build a dataset once
#' to reuse it.
#'
#' A cell lacks a modality when (a) it is not among the columns of that
#' modality's matrix or assay (cells are matched by column name, so an assay
#' may hold a subset of the cells), (b) its counts for it are all zero and
#' `zero_as_missing = TRUE`, or (c) it is listed in `missing`.
#'
#' Values must be raw counts: NA, NaN and infinite values are errors, and so
#' are negative values for count likelihoods; the message names the
#' modality, the feature and the cell.
#'
#' A dataset holds the data twice: in Rust memory (what the models read)
#' and as the R matrices it was built from (the caller's matrices, or the
#' feature subsets taken from them), from which BiocParallel workers rebuild
#' chunks of it. Like models, datasets cannot be kept with `saveRDS()`.
#'
#' @param x A named list of features x cells matrices (`dgCMatrix`, other
#'   `Matrix` classes, or numeric base matrices) with feature names as
#'   rownames and cell names as colnames; a Seurat object; a
#'   SingleCellExperiment.
#' @param likelihood Observation model per modality, e.g.
#'   `c(ATAC = "bernoulli")`; one of `"nb"` (default), `"zinb"`,
#'   `"bernoulli"`, `"gaussian"`, `"poisson"`. Count likelihoods need
#'   non-negative values.
#' @param missing Named list giving, per modality, the cells that lack it
#'   (names, indices or one logical per cell), e.g.
#'   `list(ADT = rna_only_cells)`.
#' @param covariates Categorical covariates such as batch: meta.data (Seurat)
#'   or colData (SingleCellExperiment) column names, or for lists a data frame
#'   or named list with one label per cell.
#' @param continuous_covariates Numeric covariates such as the percentage of
#'   mitochondrial reads: numeric meta.data (Seurat) or colData
#'   (SingleCellExperiment) column names, or for lists a data frame (rows
#'   matched to the cells by row name) or named list with one number per
#'   cell. `NA` is a missing value: scVAEIT maps it to the training mean
#'   (values are z-scored with the training cells' mean and standard
#'   deviation), Multigrate refuses it. Multigrate takes the values as they
#'   are (`"sigm"`: `sigmoid(c * beta + b)`), so rescale large values such as
#'   library sizes or use
#'   `config = list(multigrate = list(cont_cov_type = "logsigm"))` (needs
#'   values \eqn{\ge 0}). A model uses every continuous covariate it was
#'   trained with, and data for it must carry the same ones: for Seurat and
#'   SingleCellExperiment inputs of a trained model they are read from the
#'   columns of the same names.
#' @param features Named list of feature names to use per modality. For
#'   Seurat objects the default is each assay's `VariableFeatures()` when it
#'   has some, else all features; otherwise all features.
#' @param zero_as_missing Treat cells whose counts for a modality are all zero
#'   as missing that modality (how Seurat v4 objects, whose assays share all
#'   cells, hold cells without protein).
#' @param cells Cell names to use (for lists); default: the union of the
#'   matrices' colnames.
#' @param assays Seurat assays to use; default: every assay with a non-empty
#'   counts layer.
#' @param layer Seurat layer (slot) holding raw counts. With SeuratObject 5
#'   it is read with `LayerData()` (not tested: Seurat 5 was not available
#'   where this package was tested); otherwise with `GetAssayData()`.
#' @param experiments Names of the main experiment and/or altExps to use;
#'   default: all that have `assay.type`.
#' @param assay.type Assay holding raw counts in each experiment.
#' @param main.name Modality name of the main experiment; default
#'   `mainExpName(x)`, else `"RNA"`.
#' @param ... Unused; unknown arguments are an error.
#' @return An object of class `"scmosaic_data"`.
#' @examples
#' ex <- scmosaic_example()
#' test_cells <- ex$cells$barcode[ex$cells$split == "test"]
#' d <- scmosaic_data(list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt),
#'                    missing = list(ADT = test_cells))
#' d
#' @export
scmosaic_data <- function(x, ...) UseMethod("scmosaic_data")

#' @rdname scmosaic_data
#' @export
scmosaic_data.scmosaic_data <- function(x, ...) {
  .no_dots(..., fun = "scmosaic_data")
  .check_data(x)
  x
}

#' @rdname scmosaic_data
#' @export
scmosaic_data.default <- function(x, ...) {
  if (.is_matrix_like(x)) {
    .abort("scmosaic_data(): pass a named list of features x cells matrices, ",
           "one per modality, e.g. list(RNA = rna, ADT = adt)")
  }
  .abort("scmosaic_data() does not know objects of class '", class(x)[1],
         "'; pass a named list of features x cells matrices, a Seurat object ",
         "or a SingleCellExperiment")
}

.is_matrix_like <- function(m) {
  is.matrix(m) || methods::is(m, "Matrix") || methods::is(m, "DelayedArray")
}

# A count matrix R can hand to Rust without densifying: a dgCMatrix, or a
# base numeric matrix. Other sparse classes are converted to dgCMatrix.
.as_count_matrix <- function(m, what) {
  if (inherits(m, "dgCMatrix")) {
    return(m)
  }
  if (is.matrix(m)) {
    if (!is.numeric(m) && !is.logical(m)) {
      .abort(what, ": expected a numeric matrix, got a ", typeof(m), " matrix")
    }
    if (is.logical(m)) storage.mode(m) <- "double"
    return(m)
  }
  if (is.data.frame(m)) {
    .abort(what, ": expected a matrix (features x cells), got a data frame; ",
           "use as.matrix() or a sparse Matrix")
  }
  if (methods::is(m, "Matrix") || methods::is(m, "DelayedArray")) {
    out <- tryCatch({
      s <- methods::as(m, "CsparseMatrix")
      if (!methods::is(s, "dMatrix")) s <- methods::as(s, "dMatrix")
      methods::as(s, "generalMatrix")
    }, error = function(e) NULL)
    if (!inherits(out, "dgCMatrix")) {
      .abort(what, ": could not convert a '", class(m)[1], "' to a dgCMatrix")
    }
    return(out)
  }
  .abort(what, ": expected a features x cells matrix (dgCMatrix or matrix), got '",
         class(m)[1], "'")
}

.stored <- function(m) if (inherits(m, "dgCMatrix")) m@x else m

# Value checks with R names: NA, infinite and negative entries.
.check_values <- function(m, what, likelihood) {
  v <- .stored(m)
  locate <- function(pos) {
    if (inherits(m, "dgCMatrix")) {
      col <- findInterval(pos - 1L, m@p, rightmost.closed = FALSE)
      row <- m@i[pos] + 1L
    } else {
      row <- (pos - 1L) %% nrow(m) + 1L
      col <- (pos - 1L) %/% nrow(m) + 1L
    }
    feature <- rownames(m)[row] %||% as.character(row)
    cell <- colnames(m)[col] %||% as.character(col)
    sprintf("feature '%s', cell '%s'", feature, cell)
  }
  if (anyNA(v)) {
    pos <- which(is.na(v))
    .abort(what, ": ", length(pos), " NA value", if (length(pos) > 1) "s",
           " (first at ", locate(pos[1]), "); scVAEIT needs complete counts: ",
           "mark cells without this modality as missing instead")
  }
  if (any(is.infinite(v))) {
    pos <- which(is.infinite(v))
    .abort(what, ": infinite value at ", locate(pos[1]))
  }
  if (likelihood != "gaussian" && any(v < 0)) {
    pos <- which(v < 0)
    .abort(what, ": ", length(pos), " negative value", if (length(pos) > 1) "s",
           " (first ", v[pos[1]], " at ", locate(pos[1]), "); the '", likelihood,
           "' likelihood needs raw, non-negative counts")
  }
}

# Puts the columns of `m` in the order of `cells`, with empty columns for
# cells the matrix lacks. Returns the matrix and which cells were present.
.align_columns <- function(m, cells, what) {
  cn <- colnames(m)
  if (identical(cn, cells)) {
    return(list(m = m, present = rep(TRUE, length(cells))))
  }
  if (anyDuplicated(cn)) {
    .abort(what, ": repeated cell name '", cn[anyDuplicated(cn)], "'")
  }
  idx <- match(cells, cn)
  present <- !is.na(idx)
  if (!any(present)) {
    .abort(what, ": none of its ", length(cn), " cells (columns) is among the ",
           length(cells), " cells of the data (first: '", cn[1], "' vs '", cells[1], "')")
  }
  sub <- m[, idx[present], drop = FALSE]
  if (inherits(m, "dgCMatrix")) {
    counts <- integer(length(cells))
    counts[present] <- diff(sub@p)
    out <- methods::new("dgCMatrix", i = sub@i, p = c(0L, cumsum(counts)),
                        x = sub@x, Dim = c(nrow(m), length(cells)),
                        Dimnames = list(rownames(m), cells))
  } else {
    out <- matrix(0, nrow(m), length(cells), dimnames = list(rownames(m), cells))
    out[, present] <- sub
  }
  list(m = out, present = present)
}

.cells_flags <- function(sel, cells, what) {
  n <- length(cells)
  if (is.logical(sel)) {
    if (length(sel) != n || anyNA(sel)) {
      .abort(what, ": a logical selection needs one TRUE/FALSE per cell (", n, ")")
    }
    return(sel)
  }
  flags <- logical(n)
  if (is.character(sel)) {
    idx <- match(sel, cells)
    if (anyNA(idx)) {
      bad <- sel[is.na(idx)]
      .abort(what, ": ", length(bad), " cell name", if (length(bad) > 1) "s",
             " not in the data (first: '", bad[1], "')")
    }
  } else if (is.numeric(sel)) {
    if (anyNA(sel) || any(sel < 1 | sel > n | sel != round(sel))) {
      .abort(what, ": cell indices must be whole numbers in 1..", n)
    }
    idx <- as.integer(sel)
  } else {
    .abort(what, ": give cell names, cell indices or one logical per cell")
  }
  flags[idx] <- TRUE
  flags
}

.resolve_likelihood <- function(likelihood, mods) {
  out <- stats::setNames(rep("nb", length(mods)), mods)
  if (is.null(likelihood)) return(out)
  if (!is.character(likelihood) || anyNA(likelihood)) {
    .abort("'likelihood' must be a character vector, e.g. c(ATAC = \"bernoulli\")")
  }
  if (is.null(names(likelihood))) {
    if (length(likelihood) != 1L) {
      .abort("'likelihood' must be named by modality, e.g. c(ATAC = \"bernoulli\")")
    }
    likelihood <- stats::setNames(rep(likelihood, length(mods)), mods)
  }
  .known_modalities(names(likelihood), mods, "likelihood")
  bad <- setdiff(tolower(likelihood), .likelihoods)
  if (length(bad)) {
    .abort("unknown likelihood '", bad[1], "' (expected one of ",
           paste(.likelihoods, collapse = ", "), ")")
  }
  out[names(likelihood)] <- tolower(likelihood)
  out
}

# The modality names `given` in argument `arg` must all be in `mods`.
.known_modalities <- function(given, mods, arg) {
  unknown <- setdiff(given, mods)
  if (length(unknown)) {
    .abort("'", arg, "' names an unknown modality '", unknown[1], "' (modalities: ",
           paste(mods, collapse = ", "), ")")
  }
}

# The columns of data frame `df` (argument `arg`, one row per cell) as a
# list, its rows put in the order of `cells` when it has row names other
# than 1..n.
.cell_columns <- function(df, cells, n, arg) {
  if (nrow(df) != n) {
    .abort("'", arg, "' has ", nrow(df), " rows for ", n, " cells")
  }
  if (!is.null(cells) && !is.null(rownames(df)) &&
      !identical(rownames(df), as.character(seq_len(n)))) {
    idx <- match(cells, rownames(df))
    if (anyNA(idx)) .abort("'", arg, "': row names do not match the cell names")
    df <- df[idx, , drop = FALSE]
  }
  as.list(df)
}

.resolve_covariates <- function(covariates, cells, n) {
  if (is.null(covariates)) return(list())
  if (is.data.frame(covariates)) {
    covariates <- .cell_columns(covariates, cells, n, "covariates")
  }
  if (!is.list(covariates) || is.null(names(covariates)) || any(names(covariates) == "")) {
    .abort("'covariates' must be a data frame or a named list of per-cell labels")
  }
  labels <- lapply(names(covariates), function(nm) {
    v <- covariates[[nm]]
    if (length(v) != n) {
      .abort("covariate '", nm, "' has ", length(v), " labels for ", n, " cells")
    }
    if (anyNA(v)) {
      .abort("covariate '", nm, "' has NA labels; give them an explicit level such as \"unknown\"")
    }
    enc2utf8(as.character(v))
  })
  stats::setNames(labels, names(covariates))
}

.resolve_continuous <- function(continuous, cells, n) {
  if (is.null(continuous)) return(list())
  if (is.data.frame(continuous)) {
    continuous <- .cell_columns(continuous, cells, n, "continuous_covariates")
  }
  if (!is.list(continuous) || is.null(names(continuous)) ||
      any(names(continuous) == "" | is.na(names(continuous)))) {
    .abort("'continuous_covariates' must be a data frame or a named list of numeric ",
           "vectors (one value per cell)")
  }
  if (anyDuplicated(names(continuous))) {
    .abort("continuous covariate '", names(continuous)[anyDuplicated(names(continuous))],
           "' given twice")
  }
  values <- lapply(names(continuous), function(nm) {
    v <- continuous[[nm]]
    if (!is.numeric(v) || is.factor(v)) {
      .abort("continuous covariate '", nm, "' must be numeric, got ", class(v)[1],
             "; pass labels as (categorical) 'covariates'")
    }
    if (length(v) != n) {
      .abort("continuous covariate '", nm, "' has ", length(v), " values for ", n, " cells")
    }
    if (any(is.infinite(v))) {
      .abort("continuous covariate '", nm, "' has an infinite value (cell ",
             which(is.infinite(v))[1], ")")
    }
    as.double(v)
  })
  stats::setNames(values, enc2utf8(names(continuous)))
}

.select_features <- function(m, feats, what, strict = TRUE) {
  if (is.null(feats)) return(m)
  if (!is.character(feats) || anyNA(feats)) {
    .abort(what, ": 'features' must be a character vector of feature names")
  }
  idx <- match(feats, rownames(m))
  if (strict && anyNA(idx)) {
    bad <- feats[is.na(idx)]
    .abort(what, ": ", length(bad), " requested feature", if (length(bad) > 1) "s",
           " not found (first: '", bad[1], "')")
  }
  idx <- idx[!is.na(idx)]
  if (!length(idx)) .abort(what, ": none of the requested features is present")
  if (identical(idx, seq_len(nrow(m)))) return(m)
  m[idx, , drop = FALSE]
}

#' @rdname scmosaic_data
#' @export
scmosaic_data.list <- function(x, likelihood = NULL, missing = NULL, covariates = NULL,
                               features = NULL, zero_as_missing = TRUE, cells = NULL,
                               continuous_covariates = NULL, ...) {
  .no_dots(..., fun = "scmosaic_data")
  .build_data(x, likelihood = likelihood, missing = missing, covariates = covariates,
              features = features, zero_as_missing = zero_as_missing, cells = cells,
              continuous_covariates = continuous_covariates)
}

# The common path of every input type. `features`: named list, one character
# vector per modality (NULL = all); `strict_features = FALSE` keeps the
# requested features that exist (used with a model's feature list).
.build_data <- function(x, likelihood = NULL, missing = NULL, covariates = NULL,
                        features = NULL, zero_as_missing = TRUE, cells = NULL,
                        strict_features = TRUE, label = "modality",
                        continuous_covariates = NULL) {
  .is_flag(zero_as_missing, "zero_as_missing")
  if (!is.list(x) || !length(x)) {
    .abort("scmosaic_data(): give a non-empty named list of matrices, e.g. list(RNA = rna, ADT = adt)")
  }
  mods <- names(x)
  if (is.null(mods) || any(mods == "" | is.na(mods))) {
    .abort("scmosaic_data(): every matrix needs a modality name, e.g. list(RNA = rna, ADT = adt)")
  }
  if (anyDuplicated(mods)) .abort("modality '", mods[anyDuplicated(mods)], "' given twice")
  lik <- .resolve_likelihood(likelihood, mods)
  if (is.list(features) && !length(features)) features <- NULL  # list(): no selection
  if (!is.null(features) && (!is.list(features) || is.null(names(features)))) {
    .abort("'features' must be a named list, e.g. list(RNA = VariableFeatures(object))")
  }
  .known_modalities(names(features), mods, "features")
  x <- lapply(mods, function(nm) {
    what <- sprintf("%s '%s'", label, nm)
    m <- .as_count_matrix(x[[nm]], what)
    if (nrow(m) == 0L || ncol(m) == 0L) .abort(what, ": the matrix is empty (", nrow(m), " x ", ncol(m), ")")
    if (is.null(rownames(m))) {
      .abort(what, ": the matrix needs feature names (rownames); models match features by name")
    }
    if (anyNA(rownames(m)) || any(rownames(m) == "")) .abort(what, ": empty or NA feature name")
    if (anyDuplicated(rownames(m))) {
      .abort(what, ": repeated feature name '", rownames(m)[anyDuplicated(rownames(m))], "'")
    }
    .select_features(m, features[[nm]], what, strict = strict_features)
  })
  names(x) <- mods

  # The cells: given, else the union of the column names (first seen first),
  # else positional (all matrices must then have the same number of columns).
  named <- vapply(x, function(m) !is.null(colnames(m)), logical(1))
  if (is.null(cells)) {
    if (all(named)) {
      cells <- unique(unlist(lapply(x, colnames), use.names = FALSE))
    } else {
      nc <- vapply(x, ncol, integer(1))
      if (length(unique(nc)) != 1L) {
        .abort("the matrices have different numbers of cells (",
               paste(sprintf("%s: %d", mods, nc), collapse = ", "),
               ") and no cell names (colnames) to match them")
      }
      if (any(named)) {
        cells <- colnames(x[[which(named)[1]]])
        for (i in which(named)) {
          if (!identical(colnames(x[[i]]), cells)) {
            .abort("modality '", mods[i], "': cell names differ from the other matrices'")
          }
        }
      }
    }
  } else {
    if (!is.character(cells) || anyNA(cells) || anyDuplicated(cells)) {
      .abort("'cells' must be unique cell names")
    }
    if (!all(named)) .abort("'cells' needs every matrix to have cell names (colnames)")
  }
  if (!is.null(cells)) cells <- enc2utf8(as.character(cells))
  n <- if (is.null(cells)) ncol(x[[1]]) else length(cells)

  if (!is.null(missing)) {
    if (!is.list(missing) || is.null(names(missing))) {
      .abort("'missing' must be a named list, e.g. list(ADT = c(\"cell1\", \"cell2\"))")
    }
    .known_modalities(names(missing), mods, "missing")
  }

  specs <- lapply(mods, function(nm) {
    what <- sprintf("%s '%s'", label, nm)
    m <- x[[nm]]
    present <- rep(TRUE, n)
    if (!is.null(cells)) {
      a <- .align_columns(m, cells, what)
      m <- a$m
      present <- a$present
    }
    .check_values(m, what, lik[[nm]])
    measured <- present
    if (zero_as_missing) measured <- measured & (Matrix::colSums(m) != 0)
    if (!is.null(missing[[nm]])) {
      if (is.null(cells) && is.character(missing[[nm]])) {
        .abort("missing$", nm, ": the matrices have no cell names; give cell indices")
      }
      measured <- measured &
        !.cells_flags(missing[[nm]], cells %||% as.character(seq_len(n)),
                      sprintf("missing$%s", nm))
    }
    measured <- unname(measured)
    if (!any(measured)) {
      .abort(what, ": no cell has this modality (all cells are missing or all-zero)")
    }
    list(name = enc2utf8(nm), likelihood = lik[[nm]], m = m, measured = measured)
  })
  measured_any <- Reduce(`|`, lapply(specs, `[[`, "measured"))
  if (!all(measured_any)) {
    warning(sum(!measured_any), " cell", if (sum(!measured_any) > 1) "s have" else " has",
            " no measured modality; their embedding is the prior mean",
            call. = FALSE)
  }
  parts <- list(
    specs = specs,
    covariates = .resolve_covariates(covariates, cells, n),
    continuous = .resolve_continuous(continuous_covariates, cells, n),
    cells = cells,
    n_cells = n
  )
  .new_data(parts)
}

# The modality specs as dataset_new_() reads them: a dgCMatrix's slots are
# passed as they are (its columns are the cells, so they are the CSR layout of
# the cells x features matrix), a base matrix as its values.
.rust_specs <- function(specs) {
  lapply(specs, function(s) {
    m <- s$m
    sparse <- inherits(m, "dgCMatrix")
    list(
      name = s$name, likelihood = s$likelihood,
      features = enc2utf8(rownames(m)),
      n_cells = ncol(m), n_features = nrow(m),
      sparse = sparse,
      p = if (sparse) m@p, i = if (sparse) m@i, x = if (sparse) m@x,
      values = if (!sparse) m,
      measured = s$measured
    )
  })
}

# A "scmosaic_data" object from checked parts: the Rust dataset behind an
# external pointer, the parts themselves (the caller's matrices or feature
# subsets of them; BiocParallel workers rebuild chunks of the dataset from
# them, see R/parallel.R) and a summary.
.new_data <- function(parts) {
  specs <- parts$specs
  mods <- vapply(specs, `[[`, character(1), "name")
  ptr <- .rs(dataset_new_(.rust_specs(specs), parts$covariates, parts$continuous))
  structure(
    list(
      ptr = ptr,
      cells = parts$cells,
      n_cells = parts$n_cells,
      modalities = mods,
      n_features = vapply(specs, function(s) nrow(s$m), integer(1)),
      n_measured = vapply(specs, function(s) sum(s$measured), integer(1)),
      measured = stats::setNames(lapply(specs, `[[`, "measured"), mods),
      likelihoods = vapply(specs, `[[`, character(1), "likelihood"),
      covariates = names(parts$covariates),
      continuous_covariates = names(parts$continuous),
      parts = parts
    ),
    class = "scmosaic_data"
  )
}

.check_data <- function(data) {
  if (!inherits(data, "scmosaic_data")) .abort("expected a scmosaic_data object")
  if (!dataset_valid_(data$ptr)) {
    .abort("this scmosaic dataset is no longer valid (datasets cannot be kept with ",
           "saveRDS()/save()); build it again with scmosaic_data()")
  }
  invisible(data)
}

#' @rdname scmosaic_data
#' @method print scmosaic_data
#' @export
print.scmosaic_data <- function(x, ...) {
  cat("<scmosaic dataset>", x$n_cells, "cells\n")
  for (i in seq_along(x$modalities)) {
    cat(sprintf("  %-10s %6d features  %-9s measured in %d cells\n", x$modalities[i],
                x$n_features[i], paste0("(", x$likelihoods[i], ")"), x$n_measured[i]))
  }
  if (length(x$covariates)) cat("  covariates:", paste(x$covariates, collapse = ", "), "\n")
  if (length(x$continuous_covariates)) {
    cat("  continuous covariates:", paste(x$continuous_covariates, collapse = ", "), "\n")
  }
  invisible(x)
}

# ---- Seurat ---------------------------------------------------------------

.seurat_counts <- function(object, assay, layer) {
  if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    layer_data <- getExportedValue("SeuratObject", "LayerData")
    return(layer_data(object, assay = assay, layer = layer))
  }
  SeuratObject::GetAssayData(object, assay = assay, slot = layer)
}

.seurat_default_assays <- function(object, layer) {
  Filter(function(a) {
    m <- tryCatch(.seurat_counts(object, a, layer), error = function(e) NULL)
    !is.null(m) && nrow(m) > 0L && ncol(m) > 0L
  }, SeuratObject::Assays(object))
}

#' @rdname scmosaic_data
#' @export
scmosaic_data.Seurat <- function(x, assays = NULL, features = NULL, layer = "counts",
                                 likelihood = NULL, missing = NULL, covariates = NULL,
                                 zero_as_missing = TRUE, continuous_covariates = NULL, ...) {
  .no_dots(..., fun = "scmosaic_data")
  .seurat_data(x, assays = assays, features = features, layer = layer,
               likelihood = likelihood, missing = missing, covariates = covariates,
               zero_as_missing = zero_as_missing,
               continuous_covariates = continuous_covariates)
}

# Numeric metadata columns (meta.data or colData `md`) as continuous covariates.
.metadata_continuous <- function(md, columns, where) {
  if (is.null(columns)) return(NULL)
  if (!is.character(columns) || anyNA(columns)) {
    .abort("'continuous_covariates' must name numeric ", where, " columns")
  }
  bad <- setdiff(columns, colnames(md))
  if (length(bad)) .abort("continuous covariate '", bad[1], "' is not a ", where, " column")
  out <- lapply(columns, function(cn) {
    v <- as.vector(md[[cn]])
    if (!is.numeric(v)) {
      .abort("continuous covariate '", cn, "': the ", where, " column is ", class(md[[cn]])[1],
             ", not numeric; pass it as (categorical) 'covariates'")
    }
    v
  })
  stats::setNames(out, columns)
}

.seurat_data <- function(x, assays = NULL, features = NULL, layer = "counts",
                         likelihood = NULL, missing = NULL, covariates = NULL,
                         zero_as_missing = TRUE, strict_features = TRUE,
                         default_variable = TRUE, continuous_covariates = NULL) {
  .need("SeuratObject", "Seurat input")
  all_assays <- SeuratObject::Assays(x)
  if (is.null(assays)) assays <- .seurat_default_assays(x, layer)
  if (!is.character(assays) || !length(assays) || anyNA(assays)) {
    .abort("'assays' must name the assays to use, e.g. c(\"RNA\", \"ADT\")")
  }
  unknown <- setdiff(assays, all_assays)
  if (length(unknown)) {
    .abort("assay '", unknown[1], "' not found in the Seurat object (assays: ",
           paste(all_assays, collapse = ", "), ")")
  }
  mats <- lapply(assays, function(a) {
    m <- tryCatch(.seurat_counts(x, a, layer), error = function(e) {
      .abort("assay '", a, "': could not read its '", layer, "' layer: ", conditionMessage(e))
    })
    if (nrow(m) == 0L || ncol(m) == 0L) {
      .abort("assay '", a, "' has an empty '", layer, "' layer; scVAEIT needs raw counts")
    }
    m
  })
  names(mats) <- assays
  # Training default: the assay's variable features when it has some (the
  # RunPCA habit), else all its features.
  if (default_variable) {
    features <- features %||% list()
    for (a in setdiff(assays, names(features))) {
      vf <- SeuratObject::VariableFeatures(x[[a]])
      if (length(vf)) {
        features[[a]] <- vf
      } else if (nrow(mats[[a]]) > 5000) {
        warning("assay '", a, "': no variable features, using all ", nrow(mats[[a]]),
                " features; run FindVariableFeatures() or pass features = list(",
                a, " = ...) to train on fewer", call. = FALSE)
      }
    }
  }
  covs <- NULL
  if (!is.null(covariates)) {
    if (!is.character(covariates)) .abort("'covariates' must name meta.data columns")
    md <- x[[]]
    bad <- setdiff(covariates, colnames(md))
    if (length(bad)) .abort("covariate '", bad[1], "' is not a meta.data column")
    covs <- lapply(covariates, function(cn) md[[cn]])
    names(covs) <- covariates
  }
  conts <- .metadata_continuous(x[[]], continuous_covariates, "meta.data")
  .build_data(mats, likelihood = likelihood, missing = missing, covariates = covs,
              features = features, zero_as_missing = zero_as_missing,
              cells = colnames(x), strict_features = strict_features, label = "assay",
              continuous_covariates = conts)
}

# ---- SingleCellExperiment ------------------------------------------------

.sce_main_name <- function(x, main.name) {
  main.name %||% SingleCellExperiment::mainExpName(x) %||% "RNA"
}

.sce_matrix <- function(x, exp, main, assay.type) {
  se <- if (exp == main) x else SingleCellExperiment::altExp(x, exp)
  have <- SummarizedExperiment::assayNames(se)
  if (!assay.type %in% have) {
    .abort("experiment '", exp, "' has no assay '", assay.type, "' (assays: ",
           if (length(have)) paste(have, collapse = ", ") else "none", ")")
  }
  m <- SummarizedExperiment::assay(se, assay.type, withDimnames = TRUE)
  if (is.null(colnames(m))) colnames(m) <- colnames(x)
  m
}

#' @rdname scmosaic_data
#' @export
scmosaic_data.SingleCellExperiment <- function(x, experiments = NULL, assay.type = "counts",
                                               main.name = NULL, features = NULL,
                                               likelihood = NULL, missing = NULL,
                                               covariates = NULL, zero_as_missing = TRUE,
                                               continuous_covariates = NULL, ...) {
  .no_dots(..., fun = "scmosaic_data")
  .sce_data(x, experiments = experiments, assay.type = assay.type, main.name = main.name,
            features = features, likelihood = likelihood, missing = missing,
            covariates = covariates, zero_as_missing = zero_as_missing,
            continuous_covariates = continuous_covariates)
}

.sce_data <- function(x, experiments = NULL, assay.type = "counts", main.name = NULL,
                      features = NULL, likelihood = NULL, missing = NULL,
                      covariates = NULL, zero_as_missing = TRUE, strict_features = TRUE,
                      continuous_covariates = NULL) {
  .need("SingleCellExperiment", "SingleCellExperiment input")
  main <- .sce_main_name(x, main.name)
  avail <- c(main, SingleCellExperiment::altExpNames(x))
  if (is.null(experiments)) {
    experiments <- Filter(function(e) {
      se <- if (e == main) x else SingleCellExperiment::altExp(x, e)
      assay.type %in% SummarizedExperiment::assayNames(se)
    }, avail)
  }
  if (!is.character(experiments) || !length(experiments) || anyNA(experiments)) {
    .abort("'experiments' must name the main experiment and/or altExps to use")
  }
  unknown <- setdiff(experiments, avail)
  if (length(unknown)) {
    .abort("experiment '", unknown[1], "' not found (main experiment: '", main,
           "', altExps: ", paste(SingleCellExperiment::altExpNames(x), collapse = ", "),
           "; name the main experiment with main.name)")
  }
  if (is.null(colnames(x))) .abort("the SingleCellExperiment needs cell names (colnames)")
  mats <- lapply(experiments, function(e) .sce_matrix(x, e, main, assay.type))
  names(mats) <- experiments
  covs <- NULL
  if (!is.null(covariates)) {
    if (!is.character(covariates)) .abort("'covariates' must name colData columns")
    cd <- SummarizedExperiment::colData(x)
    bad <- setdiff(covariates, colnames(cd))
    if (length(bad)) .abort("covariate '", bad[1], "' is not a colData column")
    covs <- lapply(covariates, function(cn) as.vector(cd[[cn]]))
    names(covs) <- covariates
  }
  conts <- .metadata_continuous(SummarizedExperiment::colData(x), continuous_covariates,
                                "colData")
  .build_data(mats, likelihood = likelihood, missing = missing, covariates = covs,
              features = features, zero_as_missing = zero_as_missing,
              cells = colnames(x), strict_features = strict_features,
              label = "experiment", continuous_covariates = conts)
}
