# One-call verbs for SingleCellExperiment objects (Bioconductor's runX
# naming): runScVAEIT() and runMultigrate(), made by .make_verb(). Their help
# page is man/sce-verbs.Rd: runScVAEIT.Rd would differ from the Seurat verbs'
# RunScVAEIT.Rd only in case, which R CMD check rejects.

# The first arguments of runScVAEIT() and runMultigrate(); .make_verb() adds
# those that all verbs end with (.verb_tail()).
.sce_signature <- function(x, experiments = NULL, model = NULL, impute = NULL,
                           assay.type = "counts", main.name = NULL, features = NULL,
                           missing = NULL, covariates = NULL, likelihood = NULL,
                           zero_as_missing = TRUE, config = list(), latent_dim = NULL,
                           hidden = NULL, epochs = NULL, seed = NULL, threads = 0L,
                           modality = NULL, sample = NULL, sample.seed = NULL,
                           name = NULL) NULL

#' scVAEIT or Multigrate embedding and imputation for a SingleCellExperiment
#'
#' Trains a model on the main experiment and/or altExps (or uses `model`),
#' stores the joint embedding with `reducedDim()` and the model in
#' `metadata()`, and adds an imputed altExp for each experiment in `impute`.
#' `runScVAEIT()` fits scVAEIT (reducedDim `"scVAEIT"`); `runMultigrate()`
#' fits Multigrate (reducedDim `"Multigrate"`).
#'
#' @param x A SingleCellExperiment with raw counts; other modalities as
#'   altExps (e.g. `altExp(x, "ADT")`), cells without a modality having
#'   all-zero counts or being listed in `missing`.
#' @param experiments Names of the main experiment and/or altExps to use;
#'   default: all that have `assay.type` (with `model`: the model's
#'   modalities).
#' @param model A trained model of the verb's kind: embed and impute without
#'   training. Its covariates are read from the colData columns of the same
#'   names unless `covariates` / `continuous_covariates` is given.
#' @param impute Experiments to impute, e.g. `"ADT"`.
#' @param assay.type,main.name,features,missing,covariates,likelihood,zero_as_missing,continuous_covariates
#'   See [scmosaic_data()].
#' @param config,latent_dim,hidden,epochs,seed,threads,verbose See
#'   [fit_mosaic()]; `config` must not ask for the other model.
#' @param modality,sample,sample.seed See [RunScVAEIT()].
#' @param name The reducedDim name; default `"scVAEIT"` (`runMultigrate()`:
#'   `"Multigrate"`), or for one modality e.g. `"scVAEIT_ADT"`.
#' @param imputed.suffix The imputed altExp of `"ADT"` is named
#'   `paste0("ADT", imputed.suffix)`; default `".imputed"`
#'   (`runMultigrate()`: `".multigrate"`).
#' @param impute.scale `"normalized"` stores log-normalized values as the
#'   altExp's `"logcounts"` assay; `"counts"` stores raw-count-scale values
#'   as `"counts"`.
#' @param n_draws See [impute_modality()].
#' @param BPPARAM,chunk_size,worker_threads Embed and impute on BiocParallel
#'   workers: see [embed_cells()].
#' @param ... Unused; unknown arguments are an error.
#' @return `x` with `reducedDim(x, name)`, `metadata(x)[[name]]` (the
#'   model), the imputed altExps and one logical colData column per modality
#'   saying which cells had it (e.g. `x$scVAEIT_has_ADT`).
#' @examples
#' if (requireNamespace("SingleCellExperiment", quietly = TRUE)) {
#'   ex <- scmosaic_example()
#'   sce <- SingleCellExperiment::SingleCellExperiment(
#'     assays = list(counts = ex$rna[ex$hvg, ]))
#'   adt <- ex$adt
#'   adt[, ex$cells$split == "test"] <- 0
#'   SingleCellExperiment::altExp(sce, "ADT") <-
#'     SingleCellExperiment::SingleCellExperiment(assays = list(counts = adt))
#'   sce <- runMultigrate(sce, impute = "ADT", epochs = 2, hidden = 32,
#'                        threads = 1, verbose = FALSE)
#'   SingleCellExperiment::reducedDimNames(sce)
#' }
#' @rdname sce-verbs
#' @export
runScVAEIT <- .make_verb(".run_sce", "scvaeit", "runScVAEIT", ".imputed", .sce_signature)

#' @rdname sce-verbs
#' @export
runMultigrate <- .make_verb(".run_sce", "multigrate", "runMultigrate", ".multigrate",
                           .sce_signature)

.run_sce <- function(kind, fun, x, experiments, model, impute, assay.type, main.name,
                     features, missing, covariates, likelihood, zero_as_missing, config,
                     latent_dim, hidden, epochs, seed, threads, modality, sample, sample.seed,
                     name, imputed.suffix, impute.scale, n_draws, verbose,
                     continuous_covariates, BPPARAM, chunk_size, worker_threads) {
  .need("SingleCellExperiment", fun)
  if (!methods::is(x, "SingleCellExperiment")) {
    .abort(fun, " needs a SingleCellExperiment, got '", class(x)[1], "'")
  }
  .check_verb_args(verbose, modality, sample, sample.seed, BPPARAM, chunk_size,
                   worker_threads, imputed.suffix, "experiment")
  # Default name "scVAEIT" / "Multigrate"; one modality's latent: "scVAEIT_ADT".
  label <- .kind_label(kind)
  name <- name %||% (if (is.null(modality)) label else paste0(label, "_", modality))
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
    .abort("'name' must be one name")
  }
  if (is.null(model)) {
    .resolve_method(kind, config, TRUE, fun)
    cfg <- .config(config, latent_dim, hidden, epochs, seed, method = kind)
    data <- .sce_data(x, experiments = experiments, assay.type = assay.type,
                      main.name = main.name, features = features, likelihood = likelihood,
                      missing = missing, covariates = covariates,
                      zero_as_missing = zero_as_missing,
                      continuous_covariates = continuous_covariates)
    model <- .verb_fit(cfg, data, modality, threads, verbose, "experiments")
  } else {
    .check_model_kind(model, kind, fun)
    covariates <- covariates %||%
      .model_covariates(model, colnames(SummarizedExperiment::colData(x)))
    continuous_covariates <- continuous_covariates %||%
      .model_continuous(model)
    mods <- model_info_(model)$modalities
    main <- .sce_main_name(x, main.name)
    experiments <- experiments %||%
      intersect(mods, c(main, SingleCellExperiment::altExpNames(x)))
    feats <- features %||% stats::setNames(
      lapply(intersect(experiments, mods), function(m) model_features_(model, m)),
      intersect(experiments, mods))
    data <- .sce_data(x, experiments = experiments, assay.type = assay.type,
                      main.name = main.name, features = feats, likelihood = likelihood,
                      missing = missing, covariates = covariates,
                      zero_as_missing = zero_as_missing, strict_features = FALSE,
                      continuous_covariates = continuous_covariates)
  }
  SingleCellExperiment::reducedDim(x, name) <-
    embed_cells(model, data, modality = modality, sample = sample, seed = sample.seed,
                BPPARAM = BPPARAM, chunk_size = chunk_size, worker_threads = worker_threads)
  S4Vectors::metadata(x)[[name]] <- model
  # Which cells had each modality, e.g. x$scVAEIT_has_ADT.
  for (m in data$modalities) {
    SummarizedExperiment::colData(x)[[paste0(name, "_has_", m)]] <- data$measured[[m]]
  }
  # Bioconductor assay names: log-normalized values are "logcounts".
  assay_name <- if (impute.scale == "counts") "counts" else "logcounts"
  for (m in impute %||% character()) {
    imp <- impute_modality(model, data, modality = m, n_draws = n_draws, scale = impute.scale,
                           BPPARAM = BPPARAM, chunk_size = chunk_size,
                           worker_threads = worker_threads)
    alt <- SingleCellExperiment::SingleCellExperiment(
      assays = stats::setNames(list(imp), assay_name))
    SingleCellExperiment::altExp(x, paste0(m, imputed.suffix)) <- alt
  }
  x
}
