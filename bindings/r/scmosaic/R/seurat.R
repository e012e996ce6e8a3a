# One-call verb for Seurat objects (Seurat's RunX naming).

# Joint embedding and imputation for a Seurat object (see ?RunScVAEIT).
RunScVAEIT <- function(object, assays = NULL, model = NULL, impute = NULL,
                       features = NULL, layer = "counts", missing = NULL,
                       covariates = NULL, likelihood = NULL, zero_as_missing = TRUE,
                       config = list(), latent_dim = NULL, hidden = NULL, epochs = NULL,
                       seed = NULL, threads = 0L, modality = NULL, sample = NULL,
                       sample.seed = NULL, reduction.name = NULL, reduction.key = NULL,
                       imputed.suffix = ".imputed",
                       impute.scale = c("normalized", "counts"), n_draws = NULL,
                       verbose = TRUE, continuous_covariates = NULL, ...) {
  .need("SeuratObject", "RunScVAEIT()")
  if (!inherits(object, "Seurat")) {
    .abort("RunScVAEIT() needs a Seurat object, got '", class(object)[1], "'")
  }
  .no_dots(..., fun = "RunScVAEIT")
  impute.scale <- match.arg(impute.scale)
  .verbose_mode(verbose)
  if (!is.null(modality) &&
      (!is.character(modality) || length(modality) != 1L || is.na(modality))) {
    .abort("'modality' must be NULL (the joint embedding) or one assay name")
  }
  .sample_code(sample)
  .seed_arg(sample.seed, "sample.seed")
  # Default names: "scvaeit" / "SCVAEIT_"; one modality's latent:
  # "scvaeit_adt" / "SCVAEITADT_".
  tag <- if (is.null(modality)) "" else gsub("[^A-Za-z0-9]", "", modality)
  reduction.name <- reduction.name %||%
    (if (is.null(modality)) "scvaeit" else paste0("scvaeit_", tolower(modality)))
  reduction.key <- reduction.key %||% paste0("SCVAEIT", toupper(tag), "_")
  if (!is.character(reduction.name) || length(reduction.name) != 1L || !nzchar(reduction.name)) {
    .abort("'reduction.name' must be one name")
  }
  if (!is.character(reduction.key) || !grepl("^[A-Za-z][A-Za-z0-9]*_$", reduction.key)) {
    .abort("'reduction.key' must be letters/digits ending in '_', e.g. \"SCVAEIT_\"")
  }
  if (is.null(model)) {
    cfg <- .config(config, latent_dim, hidden, epochs, seed)
    data <- .seurat_data(object, assays = assays, features = features, layer = layer,
                         likelihood = likelihood, missing = missing,
                         covariates = covariates, zero_as_missing = zero_as_missing,
                         continuous_covariates = continuous_covariates)
    if (!is.null(modality) && !modality %in% data$modalities) {
      .abort("'modality' must be one of the assays trained on (",
             paste(data$modalities, collapse = ", "), "), got '", modality, "'")
    }
    model <- .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
    train_model(model, data, verbose = verbose)
  } else {
    .check_model(model)
    covariates <- covariates %||% .model_covariates(model, colnames(object[[]]))
    continuous_covariates <- continuous_covariates %||%
      .model_continuous(model)
    mods <- model_info_(model)$modalities
    assays <- assays %||% intersect(mods, SeuratObject::Assays(object))
    feats <- features %||% stats::setNames(
      lapply(intersect(assays, mods), function(m) model_features_(model, m)),
      intersect(assays, mods))
    data <- .seurat_data(object, assays = assays, features = feats, layer = layer,
                         likelihood = likelihood, missing = missing,
                         covariates = covariates, zero_as_missing = zero_as_missing,
                         strict_features = FALSE, default_variable = FALSE,
                         continuous_covariates = continuous_covariates)
  }
  z <- embed_cells(model, data, modality = modality, sample = sample, seed = sample.seed)
  colnames(z) <- paste0(reduction.key, seq_len(ncol(z)))
  object[[reduction.name]] <- SeuratObject::CreateDimReducObject(
    embeddings = z, key = reduction.key,
    assay = if (!is.null(modality) && modality %in% SeuratObject::Assays(object)) modality
            else data$modalities[1],
    misc = list(model = model)
  )
  # Which cells had each modality (the input rule: present, not all zero,
  # not listed in `missing`), e.g. pbmc$scvaeit_has_ADT.
  for (m in data$modalities) {
    object <- SeuratObject::AddMetaData(
      object, stats::setNames(data$measured[[m]], data$cells),
      col.name = paste0(reduction.name, "_has_", m))
  }
  for (m in impute %||% character()) {
    imp <- impute(model, data, modality = m, n_draws = n_draws, scale = impute.scale)
    name <- paste0(m, imputed.suffix)
    assay <- if (impute.scale == "counts") {
      SeuratObject::CreateAssayObject(counts = imp)
    } else {
      SeuratObject::CreateAssayObject(data = imp)
    }
    SeuratObject::Key(assay) <- paste0(tolower(gsub("[^A-Za-z0-9]", "", name)), "_")
    object[[name]] <- assay
  }
  object
}
