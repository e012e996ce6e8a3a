# One-call verbs for Seurat objects (Seurat's RunX naming): RunScVAEIT() and
# RunMultigrate(), made by .make_verb().

# The first arguments of RunScVAEIT() and RunMultigrate(); .make_verb() adds
# those that all verbs end with (.verb_tail()).
.seurat_signature <- function(object, assays = NULL, model = NULL, impute = NULL,
                              features = NULL, layer = "counts", missing = NULL,
                              covariates = NULL, likelihood = NULL, zero_as_missing = TRUE,
                              config = list(), latent_dim = NULL, hidden = NULL, epochs = NULL,
                              seed = NULL, threads = 0L, modality = NULL, sample = NULL,
                              sample.seed = NULL, reduction.name = NULL, reduction.key = NULL) NULL

#' scVAEIT or Multigrate embedding and imputation for a Seurat object
#'
#' Trains a model on the given assays (or uses `model`), adds the joint
#' embedding as a `DimReduc` usable by `FindNeighbors()` and `RunUMAP()`, and
#' adds an imputed assay for each assay in `impute`. `RunScVAEIT()` fits
#' scVAEIT (reduction `"scvaeit"`, key `"SCVAEIT_"`); `RunMultigrate()` fits
#' Multigrate (reduction `"multigrate"`, key `"MULTIGRATE_"`), so both can sit
#' side by side in one object.
#'
#' Tested with Seurat 4.3 and SeuratObject 4.1 (what Debian ships). With
#' SeuratObject 5 the counts are read with `LayerData()`; that code path has
#' not been run with Seurat 5.
#'
#' @param object A Seurat object with raw counts.
#' @param assays Assays to use, e.g. `c("RNA", "ADT")`; default: every assay
#'   with counts (with `model`: the model's modalities).
#' @param model A trained model of the verb's kind (e.g. from
#'   [map_query()] or [load_model()]): embed and impute without training. The
#'   model's covariates and continuous covariates are read from the meta.data
#'   columns of the same names unless `covariates` / `continuous_covariates`
#'   is given.
#' @param impute Assays to impute, e.g. `"ADT"`.
#' @param features,layer,missing,covariates,likelihood,zero_as_missing,continuous_covariates
#'   See [scmosaic_data()]. Training uses each assay's variable features by
#'   default.
#' @param config,latent_dim,hidden,epochs,seed,threads,verbose See
#'   [fit_mosaic()]; `config` must not ask for the other model.
#' @param modality `NULL` (the joint embedding) or one assay: the latent of
#'   that modality alone (see [embed_cells()]; Multigrate gives `NaN` rows for
#'   cells without the assay).
#' @param sample,sample.seed Posterior samples instead of means, and their
#'   seed: `sample` and `seed` of [embed_cells()].
#' @param reduction.name,reduction.key Name and key of the `DimReduc`;
#'   default `"scvaeit"` / `"SCVAEIT_"` (`RunMultigrate()`: `"multigrate"` /
#'   `"MULTIGRATE_"`), or for one modality e.g. `"scvaeit_adt"` /
#'   `"SCVAEITADT_"` (`modality = "ADT"`).
#' @param imputed.suffix The imputed assay of `"ADT"` is named
#'   `paste0("ADT", imputed.suffix)`; default `".imputed"`
#'   (`RunMultigrate()`: `".multigrate"`).
#' @param impute.scale `"normalized"` puts log-normalized values into the
#'   assay's `data`; `"counts"` puts raw-count-scale values into `counts`.
#' @param n_draws See [impute_modality()].
#' @param BPPARAM,chunk_size,worker_threads Embed and impute on BiocParallel
#'   workers: see [embed_cells()].
#' @param ... Unused; unknown arguments are an error.
#' @return The Seurat object with the `DimReduc` (the model is in
#'   `Misc(object[[reduction.name]], "model")`), the imputed assays, and one
#'   logical meta.data column per modality saying which cells had it (e.g.
#'   `scvaeit_has_ADT`; see [scmosaic_data()] for the rule).
#' @seealso The vignette: `vignette("scmosaic", package = "scmosaic")`.
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'   ex <- scmosaic_example()
#'   pbmc <- SeuratObject::CreateSeuratObject(counts = ex$rna[ex$hvg, ])
#'   adt <- ex$adt
#'   adt[, ex$cells$split == "test"] <- 0  # no protein for these cells
#'   pbmc[["ADT"]] <- SeuratObject::CreateAssayObject(counts = adt)
#'   pbmc <- RunScVAEIT(pbmc, impute = "ADT", epochs = 2, hidden = 32,
#'                      threads = 1, verbose = FALSE)
#'   pbmc <- RunMultigrate(pbmc, epochs = 2, hidden = 32, threads = 1,
#'                         verbose = FALSE)
#'   SeuratObject::Reductions(pbmc)
#'   dim(SeuratObject::Embeddings(pbmc, "multigrate"))
#' }
#' @export
RunScVAEIT <- .make_verb(".run_seurat", "scvaeit", "RunScVAEIT", ".imputed", .seurat_signature)

#' @rdname RunScVAEIT
#' @export
RunMultigrate <- .make_verb(".run_seurat", "multigrate", "RunMultigrate", ".multigrate",
                           .seurat_signature)

# A trained model for a verb of `kind`: the model's kind must match.
.check_model_kind <- function(model, kind, fun) {
  .check_model(model)
  have <- .model_kind(model)
  if (!identical(have, kind)) {
    .abort(fun, " needs a ", .kind_label(kind), " model, but 'model' is a ",
           .kind_label(have), " model; use ", .verb_for(have, fun))
  }
  invisible(model)
}

# The checks of the arguments that the Seurat and the SingleCellExperiment
# verbs share; `unit` is what `modality` names ("assay", "experiment").
.check_verb_args <- function(verbose, modality, sample, sample.seed, BPPARAM, chunk_size,
                             worker_threads, imputed.suffix, unit) {
  .verbose_mode(verbose)
  if (!is.null(modality) &&
      (!is.character(modality) || length(modality) != 1L || is.na(modality))) {
    .abort("'modality' must be NULL (the joint embedding) or one ", unit, " name")
  }
  .embed_options(sample)
  .seed_arg(sample.seed, "sample.seed")
  .check_bpparam(BPPARAM, chunk_size, worker_threads)
  if (!is.character(imputed.suffix) || length(imputed.suffix) != 1L || is.na(imputed.suffix)) {
    .abort("'imputed.suffix' must be one string")
  }
  invisible(NULL)
}

# A new model of config `cfg` trained on `data` (a verb without `model`);
# `modality`, when given, must be one of the data's `units` ("assays",
# "experiments").
.verb_fit <- function(cfg, data, modality, threads, verbose, units) {
  if (!is.null(modality) && !modality %in% data$modalities) {
    .abort("'modality' must be one of the ", units, " trained on (",
           paste(data$modalities, collapse = ", "), "), got '", modality, "'")
  }
  model <- .new_model(.rs(model_new_(cfg, data$ptr, .threads(threads))))
  train_model(model, data, verbose = verbose)
  model
}

.run_seurat <- function(kind, fun, object, assays, model, impute, features, layer, missing,
                        covariates, likelihood, zero_as_missing, config, latent_dim, hidden,
                        epochs, seed, threads, modality, sample, sample.seed, reduction.name,
                        reduction.key, imputed.suffix, impute.scale, n_draws, verbose,
                        continuous_covariates, BPPARAM, chunk_size, worker_threads) {
  .need("SeuratObject", fun)
  if (!inherits(object, "Seurat")) {
    .abort(fun, " needs a Seurat object, got '", class(object)[1], "'")
  }
  .check_verb_args(verbose, modality, sample, sample.seed, BPPARAM, chunk_size,
                   worker_threads, imputed.suffix, "assay")
  # Default names: "scvaeit" / "SCVAEIT_"; one modality's latent:
  # "scvaeit_adt" / "SCVAEITADT_" (Multigrate: "multigrate", "MULTIGRATE_").
  tag <- if (is.null(modality)) "" else gsub("[^A-Za-z0-9]", "", modality)
  reduction.name <- reduction.name %||%
    (if (is.null(modality)) kind else paste0(kind, "_", tolower(modality)))
  reduction.key <- reduction.key %||% paste0(toupper(kind), toupper(tag), "_")
  if (!is.character(reduction.name) || length(reduction.name) != 1L || !nzchar(reduction.name)) {
    .abort("'reduction.name' must be one name")
  }
  if (!is.character(reduction.key) || !grepl("^[A-Za-z][A-Za-z0-9]*_$", reduction.key)) {
    .abort("'reduction.key' must be letters/digits ending in '_', e.g. \"",
           toupper(kind), "_\"")
  }
  if (is.null(model)) {
    .resolve_method(kind, config, TRUE, fun)
    cfg <- .config(config, latent_dim, hidden, epochs, seed, method = kind)
    data <- .seurat_data(object, assays = assays, features = features, layer = layer,
                         likelihood = likelihood, missing = missing,
                         covariates = covariates, zero_as_missing = zero_as_missing,
                         continuous_covariates = continuous_covariates)
    model <- .verb_fit(cfg, data, modality, threads, verbose, "assays")
  } else {
    .check_model_kind(model, kind, fun)
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
  z <- embed_cells(model, data, modality = modality, sample = sample, seed = sample.seed,
                   BPPARAM = BPPARAM, chunk_size = chunk_size,
                   worker_threads = worker_threads)
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
    imp <- impute_modality(model, data, modality = m, n_draws = n_draws, scale = impute.scale,
                           BPPARAM = BPPARAM, chunk_size = chunk_size,
                           worker_threads = worker_threads)
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
