# Models: create, train, embed, impute, save, load, print, summary.
#
# A model is an external pointer to the Rust model with class
# c("scmosaic_scvaeit", "scmosaic_model"). It is a reference: train_model()
# changes the model in place (and returns it invisibly).

.new_model <- function(ptr) {
  class(ptr) <- c("scmosaic_scvaeit", "scmosaic_model")
  ptr
}

.check_model <- function(model) {
  if (!inherits(model, "scmosaic_model")) {
    .abort("expected a scmosaic model (from fit_scvaeit(), scmosaic_model() or load_model()), got '",
           class(model)[1], "'")
  }
  if (!model_valid_(model)) {
    .abort("this scmosaic model is no longer valid: models cannot be kept with ",
           "saveRDS()/save(); use save_model() and load_model()")
  }
  invisible(model)
}

.config <- function(config, latent_dim = NULL, hidden = NULL, epochs = NULL, seed = NULL) {
  if (!(is.list(config) || (is.character(config) && length(config) == 1L && !is.na(config)))) {
    .abort("'config' must be a named list, e.g. list(latent_dim = 16, train = list(epochs = 50)), ",
           "or JSON text")
  }
  over <- list()
  if (!is.null(latent_dim)) over$latent_dim <- .is_count(latent_dim, "latent_dim", TRUE)
  if (!is.null(hidden)) {
    if (!is.numeric(hidden) || !length(hidden) || anyNA(hidden) || any(hidden < 1)) {
      .abort("'hidden' must give the hidden layer sizes, e.g. c(256, 128)")
    }
    over$hidden <- as.integer(hidden)
  }
  train <- list()
  if (!is.null(epochs)) train$epochs <- .is_count(epochs, "epochs", TRUE)
  if (!is.null(seed)) train$seed <- .is_count(seed, "seed")
  if (length(train)) over$train <- train
  .rs(config_json_(config, over))
}

.threads <- function(threads) .is_count(threads, "threads")

# Create an untrained scVAEIT model for a dataset (see ?fit_scvaeit).
scmosaic_model <- function(data, config = list(), latent_dim = NULL, hidden = NULL,
                           epochs = NULL, seed = NULL, threads = 0L, ...) {
  cfg <- .config(config, latent_dim, hidden, epochs, seed)
  data <- scmosaic_data(data, ...)
  .check_data(data)
  .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
}

.verbose_mode <- function(verbose) {
  .is_flag(verbose, "verbose")
  if (!verbose) 0L else if (interactive()) 1L else 2L
}

# The model's covariates found among `available` (meta.data or colData
# columns), or NULL: Seurat and SCE inputs of a trained model read them by
# default.
.model_covariates <- function(model, available) {
  covs <- intersect(names(model_info_(model)$covariates), available)
  if (length(covs)) covs else NULL
}

# The model's continuous covariates, or NULL: data for the model must carry
# all of them, so Seurat and SCE inputs read them from the meta.data/colData
# columns of the same names (a missing column is an error naming it).
.model_continuous <- function(model) {
  conts <- model_info_(model)$continuous_covariates
  if (length(conts)) conts else NULL
}

# The data for an existing model: only the model's modalities and features
# are converted. Seurat and SingleCellExperiment objects also supply the
# model's covariates from their meta.data / colData columns of the same name.
.data_for <- function(model, data, ...) {
  if (inherits(data, "scmosaic_data")) {
    .no_dots(..., fun = "scmosaic_data")
    return(.check_data(data))
  }
  mods <- model_info_(model)$modalities
  feats <- function(have) {
    f <- lapply(have, function(m) model_features_(model, m))
    stats::setNames(f, have)
  }
  if (inherits(data, "Seurat")) {
    args <- list(...)
    args$covariates <- args$covariates %||% .model_covariates(model, colnames(data[[]]))
    args$continuous_covariates <- args$continuous_covariates %||%
      .model_continuous(model)
    assays <- args$assays %||% intersect(mods, SeuratObject::Assays(data))
    args$assays <- NULL
    if (!length(assays)) {
      .abort("the Seurat object has none of the model's modalities as assays (model: ",
             paste(mods, collapse = ", "), ")")
    }
    return(do.call(.seurat_data, c(list(data, assays = assays,
                                        features = args$features %||% feats(intersect(assays, mods)),
                                        strict_features = FALSE, default_variable = FALSE),
                                   args[setdiff(names(args), "features")])))
  }
  if (inherits(data, "SingleCellExperiment")) {
    args <- list(...)
    args$covariates <- args$covariates %||%
      .model_covariates(model, colnames(SummarizedExperiment::colData(data)))
    args$continuous_covariates <- args$continuous_covariates %||%
      .model_continuous(model)
    main <- .sce_main_name(data, args$main.name)
    have <- c(main, SingleCellExperiment::altExpNames(data))
    exps <- args$experiments %||% intersect(mods, have)
    args$experiments <- NULL
    if (!length(exps)) {
      .abort("the SingleCellExperiment has none of the model's modalities (model: ",
             paste(mods, collapse = ", "), "; data: ", paste(have, collapse = ", "), ")")
    }
    return(do.call(.sce_data, c(list(data, experiments = exps,
                                     features = args$features %||% feats(intersect(exps, mods)),
                                     strict_features = FALSE),
                                args[setdiff(names(args), "features")])))
  }
  if (is.list(data) && !is.null(names(data)) && !is.data.frame(data)) {
    args <- list(...)
    return(do.call(.build_data, c(list(data, features = args$features %||%
                                         feats(intersect(names(data), mods)),
                                       strict_features = FALSE),
                                  args[setdiff(names(args), "features")])))
  }
  scmosaic_data(data, ...)
}

# Train a model (in place) for its configured number of epochs, or for
# `epochs` (which then becomes the model's setting for later calls too).
train_model <- function(model, data, verbose = TRUE, epochs = NULL, ...) {
  .check_model(model)
  mode <- .verbose_mode(verbose)
  epochs <- if (is.null(epochs)) 0L else as.integer(.is_count(epochs, "epochs", positive = TRUE))
  data <- .data_for(model, data, ...)
  stop_after <- as.integer(getOption("scmosaic.stop_after", 0L))
  report <- .rs(model_train_(model, data$ptr, mode, stop_after, epochs))
  if (isTRUE(report$interrupted)) {
    message(sprintf(
      "training interrupted after %d epoch%s; the model keeps the last completed epoch",
      report$epochs_run, if (report$epochs_run == 1L) "" else "s"))
  } else if (mode > 0L) {
    message(sprintf("trained %d epochs in %.1f s", report$epochs_run, report$seconds))
  }
  invisible(model)
}

# Create and train a scVAEIT model in one call.
fit_scvaeit <- function(data, config = list(), latent_dim = NULL, hidden = NULL,
                        epochs = NULL, seed = NULL, threads = 0L, verbose = TRUE, ...) {
  .verbose_mode(verbose)
  cfg <- .config(config, latent_dim, hidden, epochs, seed)
  data <- scmosaic_data(data, ...)
  model <- .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
  train_model(model, data, verbose = verbose)
  model
}

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

# Sample code for Rust: -1 the config's choice, 0 the mean, 1 a sample.
.sample_code <- function(sample) {
  if (is.null(sample)) return(-1L)
  as.integer(.is_flag(sample, "sample"))
}

.seed_arg <- function(seed, what = "seed") {
  if (is.null(seed)) -1 else as.numeric(.is_count(seed, what))
}

.kind_label <- function(kind) if (identical(kind, "multigrate")) "Multigrate" else "scVAEIT"

.latent_prefix <- function(model) paste0(.kind_label(model_info_(model)$kind), "_")

# Latent embedding: a cells x latent matrix (joint posterior means by
# default; one modality's latent, or posterior samples, on request).
embed_cells <- function(model, data, modality = NULL, sample = NULL, seed = NULL, ...) {
  .check_model(model)
  modality <- .check_modality(model, modality, null_ok = TRUE)
  code <- .sample_code(sample)
  sd <- .seed_arg(seed)
  data <- .data_for(model, data, ...)
  e <- .rs(model_embed_(model, data$ptr, modality, code, sd))
  .warn_alignment(e$alignment)
  z <- e$values
  dim(z) <- c(e$n_cells, e$dim)
  prefix <- paste0(.latent_prefix(model), if (!is.null(modality)) paste0(modality, "_"))
  dimnames(z) <- list(data$cells, paste0(prefix, seq_len(e$dim)))
  z
}

# Query-to-reference mapping (scArches-style): a new model that also knows the
# query's new covariate levels, trained on the query with only their
# parameters free. The reference model is not modified.
map_query <- function(model, query, train = TRUE, verbose = TRUE, epochs = NULL, ...) {
  .check_model(model)
  .is_flag(train, "train")
  .verbose_mode(verbose)
  if (!is.null(epochs)) .is_count(epochs, "epochs", positive = TRUE)
  data <- .data_for(model, query, ...)
  mapped <- .new_model(.rs(model_map_query_(model, data$ptr)))
  if (train) train_model(mapped, data, verbose = verbose, epochs = epochs)
  mapped
}

# Impute (or denoise) one modality: a features x cells matrix.
impute <- function(model, data, modality, features = NULL, n_draws = NULL,
                   scale = c("normalized", "counts"), variance = FALSE, draws = FALSE,
                   hide = FALSE, seed = NULL, covariates = NULL, ...) {
  .check_model(model)
  .check_modality(model, modality)
  scale <- match.arg(scale)
  .is_flag(variance, "variance")
  .is_flag(draws, "draws")
  .is_flag(hide, "hide")
  if (!is.null(features) && (!is.character(features) || anyNA(features))) {
    .abort("'features' must be a character vector of feature names")
  }
  nd <- if (is.null(n_draws)) -1L else .is_count(n_draws, "n_draws")
  sd <- .seed_arg(seed)
  if (!is.null(covariates) && (!is.character(covariates) || is.null(names(covariates)))) {
    .abort("'covariates' must be a named character vector, e.g. c(batch = \"b1\")")
  }
  data <- .data_for(model, data, ...)
  out <- .rs(model_impute_(model, data$ptr, modality, features, nd, scale, variance,
                           draws, hide, sd, covariates))
  .warn_alignment(out$alignment)
  shape <- function(v) {
    dim(v) <- c(length(out$features), out$n_cells)
    dimnames(v) <- list(out$features, data$cells)
    v
  }
  mean <- shape(out$mean)
  if (!variance && !draws) return(mean)
  res <- list(mean = mean, variance = NULL, draws = NULL)
  if (!is.null(out$variance)) res$variance <- shape(out$variance)
  if (!is.null(out$draws)) {
    d <- out$draws
    dim(d) <- c(length(out$features), out$n_cells, out$n_draws)
    dimnames(d) <- list(out$features, data$cells, NULL)
    res$draws <- d
  }
  res
}

# Save a model to a .safetensors file (atomic write).
save_model <- function(model, path) {
  .check_model(model)
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    .abort("'path' must be a file path")
  }
  path <- path.expand(path)
  .rs(model_save_(model, path))
  invisible(path)
}

# Load a model saved by save_model() (or by the C, C++, Julia or Rust API).
load_model <- function(path, threads = 0L) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    .abort("'path' must be a file path")
  }
  path <- path.expand(path)
  if (!file.exists(path)) .abort("cannot load a model: file '", path, "' does not exist")
  .new_model(.rs(model_load_(path, .threads(threads))))
}

# Feature names of the model, by modality.
model_features <- function(model, modality = NULL) {
  .check_model(model)
  if (is.null(modality)) {
    mods <- model_info_(model)$modalities
    return(stats::setNames(lapply(mods, function(m) model_features_(model, m)), mods))
  }
  .rs(model_features_(model, modality))
}

# Per-epoch losses of every training call since the model was created or loaded.
training_history <- function(model) {
  .check_model(model)
  h <- as.data.frame(model_history_(model))
  h$validation_loss[is.nan(h$validation_loss)] <- NA_real_
  h
}

set_threads <- function(model, threads) {
  .check_model(model)
  .rs(model_set_threads_(model, .threads(threads)))
  invisible(model)
}

.fmt_int <- function(x) format(x, big.mark = ",", scientific = FALSE, trim = TRUE)

print.scmosaic_model <- function(x, ...) {
  if (!model_valid_(x)) {
    cat("<scVAEIT model: no longer valid (models cannot be kept with saveRDS()); use load_model()>\n")
    return(invisible(x))
  }
  info <- model_info_(x)
  cat(sprintf("<%s model (scmosaic)>\n", .kind_label(info$kind)))
  cat("  modalities:", paste(sprintf("%s (%s, %s features)", info$modalities,
                                     info$likelihoods, .fmt_int(info$n_features)),
                             collapse = ", "), "\n")
  if (length(info$covariates)) {
    cat("  covariates:", paste(sprintf("%s (%d levels)", names(info$covariates),
                                       lengths(info$covariates)), collapse = ", "), "\n")
  }
  if (length(info$continuous_covariates)) {
    cat("  continuous covariates:", paste(info$continuous_covariates, collapse = ", "), "\n")
  }
  cat(sprintf("  latent dim %d, hidden layers %s, %s parameters\n", info$latent_dim,
              paste(info$hidden, collapse = "-"), .fmt_int(info$n_params)))
  h <- model_history_(x)
  if (info$epochs_trained == 0L) {
    cat("  untrained: call train_model()\n")
  } else if (length(h$loss)) {
    cat(sprintf("  trained %d epochs (last loss %.2f)\n", info$epochs_trained,
                h$loss[length(h$loss)]))
  } else {
    cat(sprintf("  trained %d epochs\n", info$epochs_trained))
  }
  invisible(x)
}

summary.scmosaic_model <- function(object, ...) {
  .check_model(object)
  info <- model_info_(object)
  structure(
    list(
      kind = info$kind,
      modalities = data.frame(modality = info$modalities, likelihood = info$likelihoods,
                              features = info$n_features),
      covariates = info$covariates,
      continuous_covariates = info$continuous_covariates,
      latent_dim = info$latent_dim,
      hidden = info$hidden,
      n_params = info$n_params,
      epochs_trained = info$epochs_trained,
      device = info$device,
      threads = info$threads,
      history = training_history(object),
      config = info$config
    ),
    class = "summary.scmosaic_model"
  )
}

print.summary.scmosaic_model <- function(x, ...) {
  cat(sprintf("%s model (scmosaic)\n\nModalities:\n", .kind_label(x$kind)))
  print(x$modalities, row.names = FALSE)
  if (length(x$covariates)) {
    cat("\nCovariates:\n")
    for (nm in names(x$covariates)) {
      cat(sprintf("  %s: %s\n", nm, paste(x$covariates[[nm]], collapse = ", ")))
    }
  }
  if (length(x$continuous_covariates)) {
    cat("\nContinuous covariates:", paste(x$continuous_covariates, collapse = ", "), "\n")
  }
  cat(sprintf("\nLatent dim %d; hidden layers %s; %s parameters; device %s\n",
              x$latent_dim, paste(x$hidden, collapse = "-"), .fmt_int(x$n_params), x$device))
  cfg <- x$config
  cat(sprintf("Training: %d epochs so far; batch size %s, learning rate %s, seed %s\n",
              x$epochs_trained, cfg$train$batch_size, cfg$train$learning_rate, cfg$train$seed))
  if (nrow(x$history)) {
    cat("\nLast epochs:\n")
    print(utils::tail(x$history, 5), row.names = FALSE)
  }
  invisible(x)
}
