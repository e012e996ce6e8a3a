# Models: create, train, save, load, print, summary.
#
# A model is an external pointer to the Rust model whose class names its kind:
# c("scmosaic_scvaeit", "scmosaic_model") or
# c("scmosaic_multigrate", "scmosaic_model"). It is a reference:
# train_model() changes the model in place (and returns it invisibly).

.methods <- c("scvaeit", "multigrate")

.kind_label <- function(kind) if (identical(kind, "multigrate")) "Multigrate" else "scVAEIT"

.new_model <- function(ptr) {
  kind <- model_info_(ptr)$kind
  class(ptr) <- c(paste0("scmosaic_", kind), "scmosaic_model")
  ptr
}

.model_kind <- function(model) {
  if (inherits(model, "scmosaic_multigrate")) "multigrate" else "scvaeit"
}

.check_model <- function(model) {
  if (!inherits(model, "scmosaic_model")) {
    .abort("expected a scmosaic model (from fit_mosaic(), scmosaic_model() or load_model()), got '",
           class(model)[1], "'")
  }
  if (!model_valid_(model)) {
    .abort("this scmosaic model is no longer valid: models cannot be kept with ",
           "saveRDS()/save(); use save_model() and load_model()")
  }
  invisible(model)
}

# The model kind a config asks for ("scvaeit", "multigrate"), or NULL when it
# does not say. `config` is a named list or JSON text.
.config_model <- function(config) {
  if (is.list(config)) {
    m <- config$model
  } else {
    hit <- regmatches(config, regexpr('"model"[[:space:]]*:[[:space:]]*"[^"]*"', config))
    m <- if (length(hit)) sub('.*"([^"]*)"$', "\\1", hit) else NULL
  }
  if (is.null(m)) NULL else tolower(as.character(m)[1])
}

# The method to fit: `method` when the caller gave it (it must agree with a
# `model` entry of the config), else the config's `model`, else "scvaeit".
.resolve_method <- function(method, config, given, fun) {
  from_config <- if (is.list(config) || is.character(config)) .config_model(config)
  if (!given) return(from_config %||% "scvaeit")
  if (!is.character(method) || length(method) != 1L || !method %in% .methods) {
    .abort("'method' must be \"scvaeit\" or \"multigrate\"")
  }
  if (!is.null(from_config) && !identical(from_config, method)) {
    .abort(fun, " fits ", .kind_label(method), " but config has model = \"", from_config,
           "\"; use method = \"", from_config, "\"",
           if (from_config %in% .methods) paste0(" (or ", .verb_for(from_config, fun), ")"))
  }
  method
}

# The arguments that every one-call verb ends with (imputed.suffix's default
# is set per verb).
.verb_tail <- function(imputed.suffix, impute.scale = c("normalized", "counts"),
                       n_draws = NULL, verbose = TRUE, continuous_covariates = NULL,
                       BPPARAM = NULL, chunk_size = 5000L, worker_threads = 1L, ...) NULL

# A one-call verb (RunScVAEIT(), runMultigrate(), ...) named `fun` for
# models of `kind`: a function with the arguments of `signature` and then
# those of .verb_tail() (imputed.suffix defaulting to `imputed_suffix`) that
# rejects unknown arguments and passes all the others on to the function
# named `run` (.run_seurat(), .run_sce()) after its kind and "fun()". The
# verbs keep their explicit arguments (help pages, tab completion).
.make_verb <- function(run, kind, fun, imputed_suffix, signature) {
  verb <- signature
  formals(verb) <- c(formals(signature), formals(.verb_tail))
  formals(verb)$imputed.suffix <- imputed_suffix
  body(verb) <- quote({
    .no_dots(..., fun = fun)
    .forward(run, kind, paste0(fun, "()"), impute.scale = match.arg(impute.scale))
  })
  environment(verb) <- environment()
  verb
}

# The matching verb of the other model, for error messages.
.verb_for <- function(kind, fun) {
  verbs <- list(
    "fit_scvaeit()" = c(scvaeit = "fit_scvaeit()", multigrate = "fit_multigrate()"),
    "fit_multigrate()" = c(scvaeit = "fit_scvaeit()", multigrate = "fit_multigrate()"),
    "RunScVAEIT()" = c(scvaeit = "RunScVAEIT()", multigrate = "RunMultigrate()"),
    "RunMultigrate()" = c(scvaeit = "RunScVAEIT()", multigrate = "RunMultigrate()"),
    "runScVAEIT()" = c(scvaeit = "runScVAEIT()", multigrate = "runMultigrate()"),
    "runMultigrate()" = c(scvaeit = "runScVAEIT()", multigrate = "runMultigrate()")
  )
  v <- verbs[[fun]]
  if (is.null(v)) paste0("fit_mosaic(method = \"", kind, "\")") else v[[kind]]
}

.config <- function(config, latent_dim = NULL, hidden = NULL, epochs = NULL, seed = NULL,
                    method = NULL) {
  if (!(is.list(config) || (is.character(config) && length(config) == 1L && !is.na(config)))) {
    .abort("'config' must be a named list, e.g. list(latent_dim = 16, train = list(epochs = 50)), ",
           "or JSON text")
  }
  over <- list()
  if (!is.null(method)) over$model <- method
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

.verbose_mode <- function(verbose) {
  .is_flag(verbose, "verbose")
  if (!verbose) 0L else if (interactive()) 1L else 2L
}

#' Create and train a model
#'
#' `fit_mosaic()` creates a scVAEIT or Multigrate model for the data and
#' trains it; `fit_scvaeit()` and `fit_multigrate()` are the same with the
#' method fixed. `scmosaic_model()` only creates the model; `train_model()`
#' trains a model in place for its configured number of epochs (again on each
#' call).
#'
#' Training is interruptible: Ctrl-C (Esc in RStudio) stops it after the
#' current epoch; the model keeps the weights of the last completed epoch,
#' stays usable, and a message says how many epochs ran.
#'
#' Models are references to Rust objects: `train_model()` changes its
#' argument. They cannot be kept with `saveRDS()`; use [save_model()].
#'
#' @param data A [scmosaic_data()] object or anything it accepts (a named
#'   list of matrices, a Seurat object, a SingleCellExperiment).
#' @param method `"scvaeit"` (Du, Cai and Roeder, PNAS 2022: a masked VAE)
#'   or `"multigrate"` (Lotfollahi et al. 2022: a product-of-experts VAE).
#'   When not given, a `model` entry of `config` decides, else `"scvaeit"`.
#' @param config A named list (or JSON text) of settings of the Rust
#'   `ModelConfig`, e.g. `list(latent_dim = 16, hidden = c(256, 128),
#'   train = list(epochs = 100, batch_size = 256, learning_rate = 1e-3,
#'   validation_fraction = 0.1))`. Unknown keys and bad values are errors
#'   naming the key.
#' @param latent_dim,hidden,epochs,seed Shortcuts for `config$latent_dim`,
#'   `config$hidden`, `config$train$epochs` and `config$train$seed` (defaults:
#'   scVAEIT 32, 256, 300, 0; Multigrate 16, 256, 300, 0). For
#'   `train_model()`, `epochs` trains for that many epochs instead of the
#'   configured number (a positive whole number), which also becomes the
#'   model's setting for later calls; `NULL` keeps it.
#' @param threads Worker threads for the tensor kernels (0 = all cores).
#' @param verbose Show training progress (named after the model): a progress
#'   bar in interactive sessions, one line per tenth of the epochs otherwise.
#' @param ... Passed to [scmosaic_data()] (e.g. `assays`, `missing`,
#'   `covariates`, `continuous_covariates`).
#' @return `fit_mosaic()`, `fit_scvaeit()`, `fit_multigrate()` and
#'   `scmosaic_model()`: a model of class
#'   `c("scmosaic_scvaeit", "scmosaic_model")` or
#'   `c("scmosaic_multigrate", "scmosaic_model")`. `train_model()`: the
#'   model, invisibly.
#' @seealso [embed_cells()], [impute_modality()], [map_query()],
#'   [save_model()], [RunScVAEIT()], [runScVAEIT()].
#' @examples
#' ex <- scmosaic_example()
#' data <- list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt)
#' model <- fit_mosaic(data, method = "multigrate", epochs = 2, hidden = 32,
#'                     threads = 1, verbose = FALSE)
#' model
#' summary(model)
#' train_model(model, data, epochs = 1, verbose = FALSE)
#' training_history(model)
#' @export
fit_mosaic <- function(data, method = c("scvaeit", "multigrate"), config = list(),
                       latent_dim = NULL, hidden = NULL, epochs = NULL, seed = NULL,
                       threads = 0L, verbose = TRUE, ...) {
  method <- .resolve_method(method, config, !missing(method), "fit_mosaic()")
  .fit(method, data, config, latent_dim, hidden, epochs, seed, threads, verbose, ...)
}

.fit <- function(method, data, config, latent_dim, hidden, epochs, seed, threads, verbose, ...) {
  .verbose_mode(verbose)
  cfg <- .config(config, latent_dim, hidden, epochs, seed, method = method)
  data <- scmosaic_data(data, ...)
  model <- .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
  train_model(model, data, verbose = verbose)
  model
}

#' @rdname fit_mosaic
#' @export
fit_scvaeit <- function(data, config = list(), latent_dim = NULL, hidden = NULL,
                        epochs = NULL, seed = NULL, threads = 0L, verbose = TRUE, ...) {
  .resolve_method("scvaeit", config, TRUE, "fit_scvaeit()")
  .fit("scvaeit", data, config, latent_dim, hidden, epochs, seed, threads, verbose, ...)
}

#' @rdname fit_mosaic
#' @export
fit_multigrate <- function(data, config = list(), latent_dim = NULL, hidden = NULL,
                           epochs = NULL, seed = NULL, threads = 0L, verbose = TRUE, ...) {
  .resolve_method("multigrate", config, TRUE, "fit_multigrate()")
  .fit("multigrate", data, config, latent_dim, hidden, epochs, seed, threads, verbose, ...)
}

#' @rdname fit_mosaic
#' @export
scmosaic_model <- function(data, method = c("scvaeit", "multigrate"), config = list(),
                           latent_dim = NULL, hidden = NULL, epochs = NULL, seed = NULL,
                           threads = 0L, ...) {
  method <- .resolve_method(method, config, !missing(method), "scmosaic_model()")
  cfg <- .config(config, latent_dim, hidden, epochs, seed, method = method)
  data <- scmosaic_data(data, ...)
  .check_data(data)
  .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
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

#' @rdname fit_mosaic
#' @param model A model from `fit_mosaic()`, `scmosaic_model()` or
#'   [load_model()].
#' @export
train_model <- function(model, data, verbose = TRUE, epochs = NULL, ...) {
  .check_model(model)
  mode <- .verbose_mode(verbose)
  epochs <- if (is.null(epochs)) 0L else as.integer(.is_count(epochs, "epochs", positive = TRUE))
  data <- .data_for(model, data, ...)
  stop_after <- as.integer(getOption("scmosaic.stop_after", 0L))
  report <- .rs(model_train_(model, data$ptr, mode, stop_after, epochs))
  label <- .kind_label(.model_kind(model))
  if (isTRUE(report$interrupted)) {
    message(sprintf(
      "%s training interrupted after %d epoch%s; the model keeps the last completed epoch",
      label, report$epochs_run, if (report$epochs_run == 1L) "" else "s"))
  } else if (mode > 0L) {
    message(sprintf("%s: trained %d epochs in %.1f s", label, report$epochs_run, report$seconds))
  }
  invisible(model)
}

#' Map a query onto a trained model
#'
#' Query-to-reference mapping in the style of scArches: returns a new model
#' that also knows the query's new covariate levels (e.g. a new batch) and,
#' with `train = TRUE`, trains it on the query with only the parameters of
#' those new levels free. The reference model is not modified, and the
#' reference cells' embeddings and imputations under the mapped model stay
#' the same.
#'
#' @param model A trained model.
#' @param query The query cells: a [scmosaic_data()] object or anything it
#'   accepts. Seurat and SingleCellExperiment queries supply the model's
#'   covariates from their meta.data / colData columns of the same names.
#' @param train Train the mapped model on the query (default); `FALSE`
#'   returns it untrained (new levels start from the model's initialisation).
#' @param verbose Show training progress.
#' @param epochs Epochs to train the mapped model (default: the reference
#'   model's setting).
#' @param ... Passed to [scmosaic_data()].
#' @return A new model of the same kind as `model`.
#' @examples
#' ex <- scmosaic_example()
#' data <- list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt)
#' batch <- ifelse(seq_len(ncol(ex$rna)) %% 2 == 0, "b1", "b2")
#' ref <- batch == "b1"
#' model <- fit_scvaeit(lapply(data, function(m) m[, ref]),
#'                      covariates = list(batch = batch[ref]),
#'                      epochs = 2, hidden = 32, threads = 1, verbose = FALSE)
#' mapped <- map_query(model, lapply(data, function(m) m[, !ref]),
#'                     covariates = list(batch = batch[!ref]), epochs = 1,
#'                     verbose = FALSE)
#' dim(embed_cells(mapped, lapply(data, function(m) m[, !ref]),
#'                 covariates = list(batch = batch[!ref])))
#' @export
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

#' Save and load models
#'
#' `save_model()` writes a model to one `.safetensors` file (weights,
#' configuration, feature names and preprocessing; an atomic write, so an
#' interrupted save leaves any previous file intact). `load_model()` reads a
#' file written by `save_model()` or by the C, C++, Julia or Rust interfaces.
#' R cannot keep models with `saveRDS()`: they live in Rust memory.
#'
#' @param model A model.
#' @param path A file path (conventionally ending in `.safetensors`).
#' @param threads Worker threads of the loaded model (0 = all cores).
#' @return `save_model()`: the path, invisibly. `load_model()`: the model,
#'   classed by its kind.
#' @examples
#' ex <- scmosaic_example()
#' data <- list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt)
#' model <- fit_scvaeit(data, epochs = 1, hidden = 32, threads = 1, verbose = FALSE)
#' path <- tempfile(fileext = ".safetensors")
#' save_model(model, path)
#' again <- load_model(path, threads = 1)
#' class(again)
#' all.equal(embed_cells(model, data), embed_cells(again, data))
#' unlink(path)
#' @export
save_model <- function(model, path) {
  .check_model(model)
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    .abort("'path' must be a file path")
  }
  path <- path.expand(path)
  .rs(model_save_(model, path))
  invisible(path)
}

#' @rdname save_model
#' @export
load_model <- function(path, threads = 0L) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    .abort("'path' must be a file path")
  }
  path <- path.expand(path)
  if (!file.exists(path)) .abort("cannot load a model: file '", path, "' does not exist")
  .new_model(.rs(model_load_(path, .threads(threads))))
}

#' Inspect and tune a model
#'
#' `model_features()` gives the feature names the model was trained on,
#' `training_history()` the losses of every epoch trained since the model was
#' created or loaded, and `set_model_threads()` changes the number of worker
#' threads.
#'
#' @param model A model.
#' @param modality A modality name; `NULL` for all.
#' @param threads Worker threads for the tensor kernels (0 = all cores).
#' @return `model_features()`: a character vector, or a named list of them.
#'   `training_history()`: a data frame with columns `epoch`, `loss`, `kl`,
#'   `validation_loss` (`NA` without a validation split) and `seconds`.
#'   `set_model_threads()`: the model, invisibly.
#' @examples
#' ex <- scmosaic_example()
#' model <- fit_scvaeit(list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt), epochs = 2,
#'                      hidden = 32, threads = 1, verbose = FALSE)
#' head(model_features(model, "ADT"))
#' training_history(model)
#' set_model_threads(model, 2)
#' @export
model_features <- function(model, modality = NULL) {
  .check_model(model)
  if (is.null(modality)) {
    mods <- model_info_(model)$modalities
    return(stats::setNames(lapply(mods, function(m) model_features_(model, m)), mods))
  }
  .rs(model_features_(model, modality))
}

#' @rdname model_features
#' @export
training_history <- function(model) {
  .check_model(model)
  h <- as.data.frame(model_history_(model))
  h$validation_loss[is.nan(h$validation_loss)] <- NA_real_
  h
}

#' @rdname model_features
#' @export
set_model_threads <- function(model, threads) {
  .check_model(model)
  .rs(model_set_threads_(model, .threads(threads)))
  invisible(model)
}

.fmt_int <- function(x) format(x, big.mark = ",", scientific = FALSE, trim = TRUE)

#' Print and summarise a model
#'
#' `print()` shows the model's kind (scVAEIT or Multigrate), modalities,
#' covariates, size and training state; `summary()` returns the same and
#' more (configuration, device, the last epochs' losses) as a list.
#'
#' @param x,object A model.
#' @param ... Unused.
#' @return `print()`: `x`, invisibly. `summary()`: an object of class
#'   `"summary.scmosaic_model"`, a list with `kind`, `modalities`,
#'   `covariates`, `continuous_covariates`, `latent_dim`, `hidden`,
#'   `n_params`, `epochs_trained`, `device`, `threads`, `history` and
#'   `config`.
#' @examples
#' ex <- scmosaic_example()
#' model <- fit_multigrate(list(RNA = ex$rna[ex$hvg, ], ADT = ex$adt), epochs = 1,
#'                         hidden = 32, threads = 1, verbose = FALSE)
#' print(model)
#' s <- summary(model)
#' s$kind
#' s
#' @name print.scmosaic_model
#' @method print scmosaic_model
#' @export
print.scmosaic_model <- function(x, ...) {
  if (!model_valid_(x)) {
    cat(sprintf("<%s model: no longer valid (models cannot be kept with saveRDS()); use load_model()>\n",
                .kind_label(.model_kind(x))))
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

#' @rdname print.scmosaic_model
#' @method summary scmosaic_model
#' @export
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

#' @rdname print.scmosaic_model
#' @method print summary.scmosaic_model
#' @export
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
