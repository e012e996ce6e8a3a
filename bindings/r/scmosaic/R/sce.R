# One-call verb for SingleCellExperiment objects (Bioconductor's runX naming).

# Joint embedding and imputation for a SingleCellExperiment (see ?runScVAEIT).
runScVAEIT <- function(x, experiments = NULL, model = NULL, impute = NULL,
                       assay.type = "counts", main.name = NULL, features = NULL,
                       missing = NULL, covariates = NULL, likelihood = NULL,
                       zero_as_missing = TRUE, config = list(), latent_dim = NULL,
                       hidden = NULL, epochs = NULL, seed = NULL, threads = 0L,
                       modality = NULL, sample = NULL, sample.seed = NULL,
                       name = NULL, imputed.suffix = ".imputed",
                       impute.scale = c("normalized", "counts"), n_draws = NULL,
                       verbose = TRUE, continuous_covariates = NULL, ...) {
  .need("SingleCellExperiment", "runScVAEIT()")
  if (!methods::is(x, "SingleCellExperiment")) {
    .abort("runScVAEIT() needs a SingleCellExperiment, got '", class(x)[1], "'")
  }
  .no_dots(..., fun = "runScVAEIT")
  impute.scale <- match.arg(impute.scale)
  .verbose_mode(verbose)
  if (!is.null(modality) &&
      (!is.character(modality) || length(modality) != 1L || is.na(modality))) {
    .abort("'modality' must be NULL (the joint embedding) or one experiment name")
  }
  .sample_code(sample)
  .seed_arg(sample.seed, "sample.seed")
  # Default name "scVAEIT"; one modality's latent: "scVAEIT_ADT".
  name <- name %||% (if (is.null(modality)) "scVAEIT" else paste0("scVAEIT_", modality))
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
    .abort("'name' must be one name")
  }
  if (is.null(model)) {
    cfg <- .config(config, latent_dim, hidden, epochs, seed)
    data <- .sce_data(x, experiments = experiments, assay.type = assay.type,
                      main.name = main.name, features = features, likelihood = likelihood,
                      missing = missing, covariates = covariates,
                      zero_as_missing = zero_as_missing,
                      continuous_covariates = continuous_covariates)
    if (!is.null(modality) && !modality %in% data$modalities) {
      .abort("'modality' must be one of the experiments trained on (",
             paste(data$modalities, collapse = ", "), "), got '", modality, "'")
    }
    model <- .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
    train_model(model, data, verbose = verbose)
  } else {
    .check_model(model)
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
    embed_cells(model, data, modality = modality, sample = sample, seed = sample.seed)
  S4Vectors::metadata(x)[[name]] <- model
  # Which cells had each modality, e.g. x$scVAEIT_has_ADT.
  for (m in data$modalities) {
    SummarizedExperiment::colData(x)[[paste0(name, "_has_", m)]] <- data$measured[[m]]
  }
  # Bioconductor assay names: log-normalized values are "logcounts".
  assay_name <- if (impute.scale == "counts") "counts" else "logcounts"
  for (m in impute %||% character()) {
    imp <- impute(model, data, modality = m, n_draws = n_draws, scale = impute.scale)
    alt <- SingleCellExperiment::SingleCellExperiment(
      assays = stats::setNames(list(imp), assay_name))
    SingleCellExperiment::altExp(x, paste0(m, imputed.suffix)) <- alt
  }
  x
}
