# Inference: latent embeddings and imputation, in this R process or on
# BiocParallel workers (R/parallel.R).

.warn_alignment <- function(al) {
  for (k in seq_along(al$modality)) {
    if (al$in_data[k] && al$missing[k] > 0L) {
      warning(sprintf(
        "modality '%s': %d of %d model features are absent from the data and treated as unmeasured",
        al$modality[k], al$missing[k], al$missing[k] + al$matched[k]), call. = FALSE)
    }
  }
}

# Checks a modality name of the model (NULL allowed when `null_ok`).
.check_modality <- function(model, modality, null_ok = FALSE) {
  if (null_ok && is.null(modality)) return(NULL)
  mods <- model_info_(model)$modalities
  if (!is.character(modality) || length(modality) != 1L || is.na(modality)) {
    .abort("'modality' must name one modality of the model (", paste(mods, collapse = ", "),
           ")", if (null_ok) " or be NULL")
  }
  if (!modality %in% mods) {
    .abort("the model has no modality '", modality, "' (modalities: ",
           paste(mods, collapse = ", "), ")")
  }
  modality
}

# The embedding options for Rust (scmosaic::EmbedRequest's JSON keys):
# `sample` only when given (absent: the config's choice).
.embed_options <- function(sample) {
  if (is.null(sample)) list() else list(sample = .is_flag(sample, "sample"))
}

.seed_arg <- function(seed, what = "seed") {
  if (is.null(seed)) -1 else as.numeric(.is_count(seed, what))
}

.latent_prefix <- function(model) paste0(.kind_label(model_info_(model)$kind), "_")

# The embedding of one dataset (pointer) as a cells x latent matrix.
.embed_values <- function(e, cells, colnames) {
  z <- e$values
  dim(z) <- c(e$n_cells, e$dim)
  dimnames(z) <- list(cells, colnames)
  z
}

#' Latent embedding of cells
#'
#' The cells' coordinates in the model's latent space: joint posterior means
#' by default (computed from whatever each cell measured), one modality's
#' latent, or posterior samples.
#'
#' With `BPPARAM` (a BiocParallel back-end, e.g. `SnowParam(4)`,
#' `MulticoreParam(4)` or a `BatchtoolsParam` for a cluster), the cells are
#' split into chunks of consecutive cells; each worker loads the model from
#' its safetensors bytes (it never sees this session's model pointer), embeds
#' its chunks and returns them, and the chunks are put back in cell order.
#' `chunk_size` is rounded up to a multiple of the model's inference batch
#' size (`config$inference$batch_size`, 256 by default), so that every chunk
#' is computed in the same minibatches as without `BPPARAM`. The result is
#' then bit-identical on every back-end, for every number of workers, and to
#' the call without `BPPARAM`, unless posterior samples are drawn: each chunk
#' after the first then draws from its own random stream (derived from
#' `seed` and the chunk's number), so samples depend on `chunk_size` (but not
#' on the back-end). A worker's error stops the call with an R error naming
#' the chunk and its cells.
#'
#' @param model A trained model.
#' @param data A [scmosaic_data()] object or anything it accepts. Seurat and
#'   SingleCellExperiment objects supply the model's covariates from their
#'   meta.data / colData columns of the same names.
#' @param modality `NULL` for the joint latent, or one modality's name: the
#'   latent computed from that modality alone (Multigrate: `NaN` rows for
#'   cells without it).
#' @param sample `TRUE` for one posterior sample per cell instead of the
#'   mean; `NULL` uses the config's choice (Multigrate's
#'   `multigrate.latent`).
#' @param seed Seed of the posterior samples (default: the training seed).
#' @param BPPARAM `NULL` (compute here) or a BiocParallel back-end
#'   (`BiocParallelParam`); needs the BiocParallel package.
#' @param chunk_size Cells per chunk with `BPPARAM` (rounded up to a
#'   multiple of the model's inference batch size).
#' @param worker_threads Threads each worker uses (0 = as many as the
#'   machine has cores); the default 1 suits one worker per core. Each
#'   worker's model has a thread pool of its own, so forked workers
#'   (`MulticoreParam`) work too.
#' @param ... Passed to [scmosaic_data()].
#' @return A cells x latent matrix with cell names and columns
#'   `scVAEIT_1, ...` or `Multigrate_1, ...` (one modality:
#'   `scVAEIT_ADT_1, ...`).
#' @seealso [impute_modality()], [RunScVAEIT()], [runScVAEIT()].
#' @examples
#' ex <- scmosaic_example()
#' data <- list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt)
#' model <- fit_scvaeit(data, epochs = 2, hidden = 32, threads = 1, verbose = FALSE)
#' z <- embed_cells(model, data)
#' dim(z)
#' z_rna <- embed_cells(model, data, modality = "RNA")
#' if (requireNamespace("BiocParallel", quietly = TRUE)) {
#'   z_par <- embed_cells(model, data, BPPARAM = BiocParallel::SerialParam(),
#'                        chunk_size = 200)
#'   identical(z, z_par)
#' }
#' @export
embed_cells <- function(model, data, modality = NULL, sample = NULL, seed = NULL,
                        BPPARAM = NULL, chunk_size = 5000L, worker_threads = 1L, ...) {
  .check_model(model)
  modality <- .check_modality(model, modality, null_ok = TRUE)
  opts <- .embed_options(sample)
  sd <- .seed_arg(seed)
  .check_bpparam(BPPARAM, chunk_size, worker_threads)
  data <- .data_for(model, data, ...)
  prefix <- paste0(.latent_prefix(model), if (!is.null(modality)) paste0(modality, "_"))
  if (is.null(BPPARAM)) {
    e <- .rs(model_embed_(model, data$ptr, modality, opts, sd, 0L))
    .warn_alignment(e$alignment)
    return(.embed_values(e, data$cells, paste0(prefix, seq_len(e$dim))))
  }
  args <- list(modality = modality, options = opts, seed = sd)
  out <- .bp_run(model, data, "embed", args, BPPARAM, chunk_size, worker_threads)
  .warn_alignment(out[[1]]$alignment)
  dim <- out[[1]]$dim
  z <- do.call(rbind, lapply(out, function(e) {
    z <- e$values
    dim(z) <- c(e$n_cells, e$dim)
    z
  }))
  dimnames(z) <- list(data$cells, paste0(prefix, seq_len(dim)))
  z
}

#' Impute a modality
#'
#' Predicts one modality for every cell from what the cell measured (for
#' cells that measured it, a denoised reconstruction): the decoder mean
#' averaged over posterior draws, and on request the variance over the draws
#' (the imputation's uncertainty) or every draw.
#'
#' With `BPPARAM`, cells are split into chunks and imputed on BiocParallel
#' workers as in [embed_cells()]; results are bit-identical on every
#' back-end and for every number of workers. They equal the result without
#' `BPPARAM` when no posterior draws are made (`n_draws = 0`) or when all
#' cells fit in one chunk; otherwise each further chunk draws from its own
#' random stream (derived from `seed` and the chunk's number). (One more
#' exception: the Rust side imputes very wide outputs, over about 15,000
#' features at 256 cells per minibatch, in smaller minibatches, whose
#' boundaries chunks do not follow; values may then differ in the last
#' bits.)
#'
#' `impute_modality()` was called `impute()` before version 0.2; `impute()`
#' still works, with a deprecation warning, for one release.
#'
#' @inheritParams embed_cells
#' @param modality The modality to impute, e.g. `"ADT"`.
#' @param features Feature names to return (default: all of the modality).
#' @param n_draws Posterior draws to average (default: the model's
#'   `inference.n_draws`, 50); 0 decodes the posterior mean only.
#' @param scale `"normalized"`: the likelihood's scale (log1p of counts per
#'   10,000 for count modalities); `"counts"`: raw-count scale (each cell's
#'   own library size, the median training library for cells without the
#'   modality).
#' @param variance Also return the per-value variance over the draws (needs
#'   `n_draws` of 2 or more).
#' @param draws Also return every draw.
#' @param hide Hide the target modality from the encoder even where it was
#'   measured (pure cross-modal prediction).
#' @param seed Seed of the posterior draws (default: the training seed).
#' @param covariates Decode under these covariate levels, e.g.
#'   `c(batch = "b1")` (categorical covariates only).
#' @param predictive Posterior-predictive draws: each draw also samples the
#'   observation model's own noise (negative binomial counts, Gaussian
#'   noise, ...), so quantiles over the draws are prediction intervals for the
#'   values a measurement would give (needs `n_draws` of 1 or more).
#' @param quantiles Also return these quantiles (each in \[0, 1\]) over the
#'   draws, e.g. `c(0.1, 0.9)` for central 80% intervals (needs `n_draws` of
#'   1 or more).
#' @return A features x cells matrix; with `variance`, `draws` or
#'   `quantiles`, a list with `mean`, `variance` (features x cells), `draws`
#'   (features x cells x draws) and, when `quantiles` are asked for,
#'   `quantiles` (features x cells x quantiles).
#' @seealso [embed_cells()], [RunScVAEIT()], [runScVAEIT()].
#' @examples
#' ex <- scmosaic_example()
#' adt <- ex$adt
#' adt[, ex$cells$split == "test"] <- 0  # protein hidden for the test cells
#' data <- list(RNA = ex$rna[ex$hvg, ], ADT = adt)
#' model <- fit_scvaeit(data, epochs = 2, hidden = 32, threads = 1, verbose = FALSE)
#' imp <- impute_modality(model, data, "ADT", n_draws = 10, variance = TRUE)
#' dim(imp$mean)
#' summary(as.vector(imp$variance))
#' # 80% prediction intervals from posterior-predictive draws
#' pi80 <- impute_modality(model, data, "ADT", scale = "counts", n_draws = 20,
#'                         predictive = TRUE, quantiles = c(0.1, 0.9))
#' dim(pi80$quantiles)
#' @export
impute_modality <- function(model, data, modality, features = NULL, n_draws = NULL,
                            scale = c("normalized", "counts"), variance = FALSE,
                            draws = FALSE, hide = FALSE, seed = NULL, covariates = NULL,
                            predictive = FALSE, quantiles = NULL,
                            BPPARAM = NULL, chunk_size = 5000L, worker_threads = 1L, ...) {
  .check_model(model)
  .check_modality(model, modality)
  scale <- match.arg(scale)
  .is_flag(predictive, "predictive")
  if (!is.null(quantiles) &&
      (!is.numeric(quantiles) || length(quantiles) == 0L || anyNA(quantiles) ||
       any(quantiles < 0 | quantiles > 1))) {
    .abort("'quantiles' must be a numeric vector of values in [0, 1]")
  }
  .is_flag(variance, "variance")
  .is_flag(draws, "draws")
  .is_flag(hide, "hide")
  if (!is.null(features) && (!is.character(features) || anyNA(features))) {
    .abort("'features' must be a character vector of feature names")
  }
  if (!is.null(n_draws)) n_draws <- .is_count(n_draws, "n_draws")
  sd <- .seed_arg(seed)
  if (!is.null(covariates) &&
      (!is.character(covariates) || anyNA(covariates) || is.null(names(covariates)) ||
       anyNA(names(covariates)) || !all(nzchar(names(covariates))) ||
       anyDuplicated(names(covariates)))) {
    .abort("'covariates' must be a named character vector, e.g. c(batch = \"b1\"), ",
           "naming each covariate once")
  }
  .check_bpparam(BPPARAM, chunk_size, worker_threads)
  data <- .data_for(model, data, ...)
  # scmosaic::ImputeRequest's JSON keys; absent ones take the defaults.
  opts <- list(features = features, n_draws = n_draws, scale = scale, variance = variance,
               draws = draws, hide_target = hide,
               covariates = if (!is.null(covariates)) as.list(covariates),
               predictive = if (predictive) TRUE,
               quantiles = if (!is.null(quantiles)) as.numeric(quantiles))
  opts <- opts[!vapply(opts, is.null, logical(1))]
  args <- list(modality = modality, options = opts, seed = sd)
  out <- if (is.null(BPPARAM)) {
    list(.rs(model_impute_(model, data$ptr, modality, opts, sd, 0L)))
  } else {
    .bp_run(model, data, "impute", args, BPPARAM, chunk_size, worker_threads)
  }
  .warn_alignment(out[[1]]$alignment)
  feats <- out[[1]]$features
  nf <- length(feats)
  bind <- function(field) {
    v <- unlist(lapply(out, `[[`, field), use.names = FALSE)
    dim(v) <- c(nf, data$n_cells)
    dimnames(v) <- list(feats, data$cells)
    v
  }
  # Each chunk's `field` is features x chunk cells x k, along the cells.
  bind3 <- function(field, k, names3) {
    a <- array(0, c(nf, data$n_cells, k), dimnames = list(feats, data$cells, names3))
    start <- 0L
    for (o in out) {
      x <- o[[field]]
      dim(x) <- c(nf, o$n_cells, k)
      a[, start + seq_len(o$n_cells), ] <- x
      start <- start + o$n_cells
    }
    a
  }
  mean <- bind("mean")
  if (!variance && !draws && is.null(quantiles)) return(mean)
  res <- list(mean = mean, variance = NULL, draws = NULL)
  if (!is.null(out[[1]]$variance)) res$variance <- bind("variance")
  if (!is.null(out[[1]]$draws)) res$draws <- bind3("draws", out[[1]]$n_draws, NULL)
  if (!is.null(quantiles)) {
    res$quantiles <- bind3("quantiles", length(quantiles), format(quantiles))
  }
  res
}
