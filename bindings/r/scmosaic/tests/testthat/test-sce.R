small_sce <- function() {
  s <- small()
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = s$rna))
  SingleCellExperiment::mainExpName(sce) <- "RNA"
  SingleCellExperiment::altExp(sce, "ADT") <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = s$adt_masked))
  sce$cell_type <- s$cell_type
  sce
}

test_that("SingleCellExperiment round trip: reducedDim and imputed altExp", {
  skip_if_not_installed("SingleCellExperiment")
  s <- small()
  model <- trained_model()
  sce <- small_sce()
  data <- scmosaic_data(sce)
  expect_equal(data$modalities, c("RNA", "ADT"))
  expect_equal(data$n_measured, c(ncol(sce), sum(!s$test)))

  sce <- runScVAEIT(sce, model = model, impute = "ADT", verbose = FALSE)
  z <- SingleCellExperiment::reducedDim(sce, "scVAEIT")
  expect_equal(dim(z), c(ncol(sce), 16L))
  expect_identical(rownames(z), colnames(sce))
  expect_equal(z, embed_cells(model, list(RNA = s$rna, ADT = s$adt_masked)), tolerance = 1e-6)
  expect_identical(S4Vectors::metadata(sce)$scVAEIT, model)
  expect_identical(sce$scVAEIT_has_ADT, !s$test)
  expect_true("ADT.imputed" %in% SingleCellExperiment::altExpNames(sce))
  imp <- SummarizedExperiment::assay(SingleCellExperiment::altExp(sce, "ADT.imputed"), "logcounts")
  expect_equal(dim(imp), c(43L, ncol(sce)))
  expect_equal(imp, impute_modality(model, list(RNA = s$rna, ADT = s$adt_masked), "ADT"),
               tolerance = 1e-5)
  # The imputed altExp has no "counts" assay, so a later call leaves it out.
  expect_equal(scmosaic_data(sce)$modalities, c("RNA", "ADT"))
})

test_that("runScVAEIT trains when no model is given, with a covariate", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- small_sce()[, 1:120]
  sce$batch <- rep(c("a", "b"), length.out = ncol(sce))
  sce <- runScVAEIT(sce, latent_dim = 4, hidden = 16, epochs = 2, covariates = "batch",
                    impute = "ADT", impute.scale = "counts", verbose = FALSE)
  m <- S4Vectors::metadata(sce)$scVAEIT
  expect_equal(summary(m)$covariates, list(batch = c("a", "b")))
  expect_equal(dim(SingleCellExperiment::reducedDim(sce, "scVAEIT")), c(120L, 4L))
  alt <- SingleCellExperiment::altExp(sce, "ADT.imputed")
  expect_equal(SummarizedExperiment::assayNames(alt), "counts")
})
