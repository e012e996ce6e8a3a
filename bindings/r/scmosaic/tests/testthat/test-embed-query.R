# Per-modality and sampled embeddings (embed_cells(modality, sample, seed),
# RunScVAEIT / RunMultigrate / runScVAEIT / runMultigrate) and query-to-reference mapping (map_query) for
# lists of matrices, Seurat and SingleCellExperiment objects.

expect_scm_error <- function(expr, pattern) {
  expect_error(expr, pattern, class = "scmosaic_error")
}

mg_config <- list(model = "multigrate", latent_dim = 8, hidden = 32,
                  train = list(epochs = 3, batch_size = 64, validation_fraction = 0))

# 240 cells: RNA (2000 genes) for all, ADT missing (all zero) for the test cells.
mg_cells <- function() {
  s <- small()
  idx <- 1:240
  list(rna = s$rna[, idx], adt = s$adt_masked[, idx], has_adt = !s$test[idx])
}

# A Multigrate model trained once for this file.
mg_model <- function() {
  if (is.null(.fixtures$mg)) {
    d <- mg_cells()
    .fixtures$mg <- fit_mosaic(list(RNA = d$rna, ADT = d$adt), config = mg_config,
                               verbose = FALSE)
  }
  .fixtures$mg
}

test_that("Multigrate: per-modality latents have NaN rows for cells without the modality", {
  d <- mg_cells()
  m <- mg_model()
  expect_output(print(m), "Multigrate model")
  data <- scmosaic_data(list(RNA = d$rna, ADT = d$adt))
  expect_equal(data$n_measured, c(240L, sum(d$has_adt)))
  z <- embed_cells(m, data)
  expect_equal(dim(z), c(240L, 8L))
  expect_true(all(is.finite(z)))
  expect_identical(colnames(z), paste0("Multigrate_", 1:8))

  za <- embed_cells(m, data, modality = "ADT")
  expect_equal(dim(za), c(240L, 8L))
  expect_identical(rownames(za), colnames(d$rna))
  expect_identical(colnames(za), paste0("Multigrate_ADT_", 1:8))
  expect_identical(unname(apply(is.nan(za), 1, all)), !d$has_adt)
  expect_true(all(is.finite(za[d$has_adt, ])))
  zr <- embed_cells(m, data, modality = "RNA")
  expect_true(all(is.finite(zr)))
  expect_false(isTRUE(all.equal(zr, z, check.attributes = FALSE)))
  # Without ADT in the data at all, every ADT row is NaN.
  expect_true(all(is.nan(embed_cells(m, list(RNA = d$rna), modality = "ADT"))))
})

test_that("sampled embeddings: the same seed gives the same values", {
  d <- mg_cells()
  m <- mg_model()
  data <- scmosaic_data(list(RNA = d$rna, ADT = d$adt))
  z <- embed_cells(m, data)
  expect_identical(embed_cells(m, data, sample = FALSE), z)
  s1 <- embed_cells(m, data, sample = TRUE, seed = 3)
  expect_identical(embed_cells(m, data, sample = TRUE, seed = 3), s1)
  expect_false(identical(embed_cells(m, data, sample = TRUE, seed = 4), s1))
  expect_false(identical(s1, z))
  expect_true(all(is.finite(s1)))
  # no seed: the training seed, also reproducible
  expect_identical(embed_cells(m, data, sample = TRUE), embed_cells(m, data, sample = TRUE))
  # a sampled per-modality latent keeps the NaN rows
  sa <- embed_cells(m, data, modality = "ADT", sample = TRUE, seed = 1)
  expect_identical(unname(apply(is.nan(sa), 1, all)), !d$has_adt)
})

test_that("scVAEIT: each modality's latent is finite for every cell", {
  s <- small()
  model <- trained_model()
  data <- scmosaic_data(list(RNA = s$rna, ADT = s$adt_masked))
  z <- embed_cells(model, data)
  za <- embed_cells(model, data, modality = "ADT")
  zr <- embed_cells(model, data, modality = "RNA")
  expect_equal(dim(za), dim(z))
  expect_identical(colnames(zr), paste0("scVAEIT_RNA_", 1:16))
  expect_true(all(is.finite(za)) && all(is.finite(zr)))
  expect_false(isTRUE(all.equal(za, zr, check.attributes = FALSE)))
  s1 <- embed_cells(model, data, sample = TRUE, seed = 7)
  expect_identical(embed_cells(model, data, sample = TRUE, seed = 7), s1)
  expect_false(identical(unname(s1), unname(z)))
})

test_that("embed_cells checks modality, sample and seed", {
  s <- small()
  model <- trained_model()
  x <- list(RNA = s$rna[, 1:20])
  expect_scm_error(embed_cells(model, x, modality = "protein"),
                   "no modality 'protein' \\(modalities: RNA, ADT\\)")
  expect_scm_error(embed_cells(model, x, modality = c("RNA", "ADT")), "'modality' must name one")
  expect_scm_error(embed_cells(model, x, modality = NA_character_), "'modality' must name one")
  expect_scm_error(embed_cells(model, x, sample = NA), "'sample' must be TRUE or FALSE")
  expect_scm_error(embed_cells(model, x, sample = "yes"), "'sample' must be TRUE or FALSE")
  expect_scm_error(embed_cells(model, x, seed = -1), "'seed' must be a non-negative")
  expect_scm_error(embed_cells(model, x, seed = 1.5), "'seed' must be a non-negative")
})

# Reference: cells 1-300 in batches b0/b1 with RNA + ADT; query: cells
# 301-450, RNA only, in a new batch b2.
query_split <- function() {
  s <- small()
  r <- 1:300
  q <- 301:450
  list(rna_r = s$rna[, r], adt_r = s$adt[, r],
       b_r = rep(c("b0", "b1"), length.out = length(r)),
       rna_q = s$rna[, q], b_q = rep("b2", length(q)))
}

test_that("map_query (lists, Multigrate): reference embeddings bit-identical, query embedded", {
  p <- query_split()
  ref <- fit_mosaic(list(RNA = p$rna_r, ADT = p$adt_r), covariates = list(batch = p$b_r),
                    config = mg_config, verbose = FALSE)
  ref_data <- scmosaic_data(list(RNA = p$rna_r, ADT = p$adt_r), covariates = list(batch = p$b_r))
  z_ref <- embed_cells(ref, ref_data)
  za_ref <- embed_cells(ref, ref_data, modality = "ADT")
  q <- list(RNA = p$rna_q)
  # the reference model cannot read the new batch
  expect_scm_error(embed_cells(ref, q, covariates = list(batch = p$b_q)), "level 'b2'")

  mapped <- map_query(ref, q, covariates = list(batch = p$b_q), verbose = FALSE)
  expect_s3_class(mapped, c("scmosaic_multigrate", "scmosaic_model"), exact = TRUE)
  expect_equal(summary(mapped)$covariates, list(batch = c("b0", "b1", "b2")))
  expect_equal(summary(mapped)$epochs_trained, 6L)
  expect_equal(nrow(training_history(mapped)), 6L)
  # the reference model is not modified; the mapped one keeps the reference cells exactly
  expect_equal(summary(ref)$epochs_trained, 3L)
  expect_equal(summary(ref)$covariates, list(batch = c("b0", "b1")))
  expect_identical(embed_cells(ref, ref_data), z_ref)
  expect_identical(embed_cells(mapped, ref_data), z_ref)
  expect_identical(embed_cells(mapped, ref_data, modality = "ADT"), za_ref)
  q_data <- scmosaic_data(q, covariates = list(batch = p$b_q))
  z_q <- embed_cells(mapped, q_data)
  expect_equal(dim(z_q), c(150L, 8L))
  expect_identical(rownames(z_q), colnames(p$rna_q))
  expect_true(all(is.finite(z_q)))
  expect_identical(embed_cells(mapped, q, covariates = list(batch = p$b_q)), z_q)
  # the query has no ADT: its ADT latent is all NaN; its protein is imputed from RNA
  expect_true(all(is.nan(embed_cells(mapped, q_data, modality = "ADT"))))
  imp <- impute_modality(mapped, q_data, "ADT", n_draws = 0)
  expect_equal(dim(imp), c(43L, 150L))
  expect_true(all(is.finite(imp)))

  # train = FALSE: mapped but untrained; the reference cells are already exact
  m0 <- map_query(ref, q_data, train = FALSE)
  expect_equal(summary(m0)$epochs_trained, 3L)
  expect_identical(embed_cells(m0, ref_data), z_ref)
  # interrupting the query training (the path Ctrl-C takes) keeps a usable model
  m1 <- withr::with_options(list(scmosaic.stop_after = 1L),
                             map_query(ref, q_data, verbose = FALSE))
  expect_equal(summary(m1)$epochs_trained, 4L)
  expect_identical(embed_cells(m1, ref_data), z_ref)
  # the query's own number of epochs; the reference keeps its setting
  m2 <- map_query(ref, q_data, epochs = 1, verbose = FALSE)
  expect_equal(summary(m2)$epochs_trained, 4L)
  expect_identical(embed_cells(m2, ref_data), z_ref)
  train_model(m2, q_data, verbose = FALSE)
  expect_equal(summary(m2)$epochs_trained, 5L)
  train_model(m2, q_data, epochs = 2, verbose = FALSE)
  expect_equal(summary(m2)$epochs_trained, 7L)
  expect_equal(summary(ref)$epochs_trained, 3L)
  expect_scm_error(map_query(ref, q_data, epochs = 0), "'epochs' must be a positive whole number")
  expect_scm_error(train_model(m2, q_data, epochs = 1.5), "'epochs' must be a positive whole number")
})

test_that("map_query errors: query without the covariate, bad arguments", {
  p <- query_split()
  ref <- fit_scvaeit(list(RNA = p$rna_r[, 1:120]), covariates = list(batch = p$b_r[1:120]),
                     latent_dim = 4, hidden = 16, epochs = 1, verbose = FALSE)
  q <- list(RNA = p$rna_q)
  expect_scm_error(map_query(ref, q, verbose = FALSE),
                   "the query lacks covariate 'batch', which the reference model is conditioned on")
  expect_scm_error(map_query(ref, q, covariates = list(donor = p$b_q), verbose = FALSE),
                   "lacks covariate 'batch'")
  expect_scm_error(map_query(ref, list(ADT = small()$adt[, 1:10]),
                             covariates = list(batch = rep("b2", 10)), verbose = FALSE),
                   "none of the model's modalities|no modality|ADT")
  expect_scm_error(map_query("model", q), "expected a scmosaic model")
  expect_scm_error(map_query(ref, q, train = NA), "'train' must be TRUE or FALSE")
  expect_scm_error(map_query(ref, q, verbose = "yes"), "'verbose' must be TRUE or FALSE")
})

test_that("Seurat: per-modality DimReduc, map_query with meta.data covariates", {
  skip_if_not_installed("Seurat")
  d <- mg_cells()
  m <- mg_model()
  obj <- small_seurat(240)
  obj <- RunMultigrate(obj, model = m, modality = "ADT", verbose = FALSE)
  expect_true("multigrate_adt" %in% SeuratObject::Reductions(obj))
  expect_false("multigrate" %in% SeuratObject::Reductions(obj))
  e <- SeuratObject::Embeddings(obj, "multigrate_adt")
  expect_identical(colnames(e), paste0("MULTIGRATEADT_", 1:8))
  expect_identical(unname(apply(is.nan(e), 1, all)), !d$has_adt)
  expect_identical(SeuratObject::DefaultAssay(obj[["multigrate_adt"]]), "ADT")
  expect_identical(unname(e), unname(embed_cells(m, list(RNA = d$rna, ADT = d$adt),
                                                 modality = "ADT")))
  expect_identical(unname(obj$multigrate_adt_has_ADT), d$has_adt)
  obj <- RunMultigrate(obj, model = m, sample = TRUE, sample.seed = 2,
                       reduction.name = "sampled", reduction.key = "SMP_", verbose = FALSE)
  expect_identical(unname(SeuratObject::Embeddings(obj, "sampled")),
                   unname(embed_cells(m, obj, sample = TRUE, seed = 2)))
  expect_scm_error(RunMultigrate(obj, model = m, modality = "protein", verbose = FALSE),
                   "no modality 'protein'")
  expect_scm_error(RunMultigrate(obj, model = m, modality = 1, verbose = FALSE),
                   "'modality' must be NULL")
  # a Multigrate model is not a scVAEIT model
  expect_scm_error(RunScVAEIT(obj, model = m, verbose = FALSE),
                   "RunScVAEIT\\(\\) needs a scVAEIT model, but 'model' is a Multigrate model; use RunMultigrate\\(\\)")
  SeuratObject::VariableFeatures(obj) <- rownames(d$rna)[1:300]
  expect_scm_error(RunScVAEIT(obj, assays = "RNA", modality = "ADT", epochs = 1,
                              verbose = FALSE),
                   "'modality' must be one of the assays trained on \\(RNA\\)")

  # query mapping: the reference's batch column is found in the query's meta.data
  s <- small()
  ref_obj <- suppressWarnings(SeuratObject::CreateSeuratObject(counts = s$rna[, 1:200]))
  ref_obj$batch <- rep(c("b0", "b1"), 100)
  ref_obj <- RunScVAEIT(ref_obj, assays = "RNA", covariates = "batch", latent_dim = 4,
                        hidden = 16, epochs = 2, verbose = FALSE)
  ref <- SeuratObject::Misc(ref_obj[["scvaeit"]], "model")
  z_ref <- SeuratObject::Embeddings(ref_obj, "scvaeit")
  q_obj <- suppressWarnings(SeuratObject::CreateSeuratObject(counts = s$rna[, 201:300]))
  expect_scm_error(map_query(ref, q_obj, verbose = FALSE), "lacks covariate 'batch'")
  q_obj$batch <- "b2"
  mapped <- map_query(ref, q_obj, verbose = FALSE)
  expect_equal(summary(mapped)$covariates$batch, c("b0", "b1", "b2"))
  q_obj <- RunScVAEIT(q_obj, model = mapped, verbose = FALSE)
  expect_equal(dim(SeuratObject::Embeddings(q_obj, "scvaeit")), c(100L, 4L))
  expect_true(all(is.finite(SeuratObject::Embeddings(q_obj, "scvaeit"))))
  ref_again <- RunScVAEIT(ref_obj, model = mapped, reduction.name = "mapped",
                          reduction.key = "MAPPED_", verbose = FALSE)
  expect_identical(unname(SeuratObject::Embeddings(ref_again, "mapped")), unname(z_ref))
  expect_identical(unname(embed_cells(mapped, ref_obj)), unname(z_ref))
})

test_that("SingleCellExperiment: per-modality reducedDim, map_query with colData covariates", {
  skip_if_not_installed("SingleCellExperiment")
  d <- mg_cells()
  m <- mg_model()
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = d$rna))
  SingleCellExperiment::mainExpName(sce) <- "RNA"
  SingleCellExperiment::altExp(sce, "ADT") <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = d$adt))
  sce <- runMultigrate(sce, model = m, modality = "ADT", verbose = FALSE)
  za <- SingleCellExperiment::reducedDim(sce, "Multigrate_ADT")
  expect_equal(dim(za), c(240L, 8L))
  expect_identical(unname(apply(is.nan(za), 1, all)), !d$has_adt)
  expect_identical(za, embed_cells(m, sce, modality = "ADT"))
  expect_identical(sce$Multigrate_ADT_has_ADT, d$has_adt)
  expect_identical(S4Vectors::metadata(sce)$Multigrate_ADT, m)
  sce <- runMultigrate(sce, model = m, sample = TRUE, sample.seed = 5, name = "s5",
                       verbose = FALSE)
  expect_identical(SingleCellExperiment::reducedDim(sce, "s5"),
                   embed_cells(m, sce, sample = TRUE, seed = 5))
  expect_scm_error(runScVAEIT(sce, model = m, verbose = FALSE),
                   "needs a scVAEIT model, but 'model' is a Multigrate model; use runMultigrate\\(\\)")

  s <- small()
  ref_sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = s$rna[, 1:200]))
  SingleCellExperiment::mainExpName(ref_sce) <- "RNA"
  ref_sce$batch <- rep(c("b0", "b1"), 100)
  ref_sce <- runScVAEIT(ref_sce, covariates = "batch", latent_dim = 4, hidden = 16,
                        epochs = 2, verbose = FALSE)
  ref <- S4Vectors::metadata(ref_sce)$scVAEIT
  q_sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = s$rna[, 201:300]))
  SingleCellExperiment::mainExpName(q_sce) <- "RNA"
  q_sce$batch <- "b2"
  mapped <- map_query(ref, q_sce, verbose = FALSE)
  q_sce <- runScVAEIT(q_sce, model = mapped, verbose = FALSE)
  expect_equal(dim(SingleCellExperiment::reducedDim(q_sce, "scVAEIT")), c(100L, 4L))
  expect_identical(embed_cells(mapped, ref_sce),
                   SingleCellExperiment::reducedDim(ref_sce, "scVAEIT"))
})
