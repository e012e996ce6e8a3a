# Inference on BiocParallel workers: chunks of cells, the model sent as its
# safetensors bytes; results equal to serial, in cell order; a worker's error
# reaches the caller as an ordinary R error naming the chunk.

expect_scm_error <- function(expr, pattern) {
  expect_error(expr, pattern, class = "scmosaic_error")
}

test_that("SnowParam(2) embeds and imputes exactly as serial, in cell order", {
  skip_if_not_installed("BiocParallel")
  s <- small()
  model <- trained_model()
  data <- scmosaic_data(list(RNA = s$rna, ADT = s$adt_masked))
  snow <- BiocParallel::SnowParam(2)
  BiocParallel::bpstart(snow)
  on.exit(BiocParallel::bpstop(snow))
  serial <- BiocParallel::SerialParam()

  # chunk_size is rounded up to a multiple of the inference batch size (256):
  # 614 cells in 3 chunks (256, 256, 102 cells), over 2 worker processes
  z <- embed_cells(model, data)
  z_snow <- embed_cells(model, data, BPPARAM = snow, chunk_size = 100)
  expect_identical(z_snow, z)
  expect_identical(rownames(z_snow), colnames(s$rna))
  # a chunk is what the same cells give on their own (order kept)
  expect_identical(z_snow[257:512, ], embed_cells(model, lapply(
    list(RNA = s$rna, ADT = s$adt_masked), function(m) m[, 257:512])))
  za <- embed_cells(model, data, modality = "ADT", BPPARAM = snow, chunk_size = 256)
  expect_identical(za, embed_cells(model, data, modality = "ADT"))

  # posterior means: the same as without BPPARAM
  m0 <- impute_modality(model, data, "ADT", n_draws = 0)
  expect_identical(impute_modality(model, data, "ADT", n_draws = 0, BPPARAM = snow,
                                   chunk_size = 100), m0)
  # posterior draws: the same on every back-end for a given chunk size; the
  # first chunk (and so a single chunk) matches the call without BPPARAM
  args <- list(model, data, "ADT", n_draws = 4, variance = TRUE, draws = TRUE, seed = 11,
               scale = "counts")
  d_serial <- do.call(impute_modality, c(args, list(BPPARAM = serial, chunk_size = 100)))
  d_snow <- do.call(impute_modality, c(args, list(BPPARAM = snow, chunk_size = 100)))
  expect_identical(d_snow, d_serial)
  expect_equal(dim(d_snow$draws), c(43L, 614L, 4L))
  expect_identical(colnames(d_snow$mean), colnames(s$rna))
  plain <- do.call(impute_modality, args)
  expect_identical(d_snow$mean[, 1:256], plain$mean[, 1:256])
  expect_identical(d_snow$draws[, 1:256, ], plain$draws[, 1:256, ])
  expect_false(identical(d_snow$mean[, 257:512], plain$mean[, 257:512]))
  expect_identical(do.call(impute_modality, c(args, list(BPPARAM = snow, chunk_size = 1000))),
                   plain)
  # sampled embeddings follow the same rule
  zs <- embed_cells(model, data, sample = TRUE, seed = 2, BPPARAM = snow, chunk_size = 256)
  expect_identical(zs, embed_cells(model, data, sample = TRUE, seed = 2, BPPARAM = serial,
                                   chunk_size = 256))
  expect_identical(zs[1:256, ], embed_cells(model, data, sample = TRUE, seed = 2)[1:256, ])
})

test_that("a worker's error is an R error naming the chunk", {
  skip_if_not_installed("BiocParallel")
  s <- small()
  model <- trained_model()
  x <- list(RNA = s$rna, ADT = s$adt_masked)
  snow <- BiocParallel::SnowParam(2)
  withr::with_options(list(scmosaic.fail_chunk = 3L), {
    expect_scm_error(
      embed_cells(model, x, BPPARAM = snow, chunk_size = 256),
      "^BiocParallel worker failed on chunk 3 of 3 \\(cells 513-614\\): failure injected for testing")
    expect_scm_error(
      impute_modality(model, x, "ADT", BPPARAM = BiocParallel::SerialParam(), chunk_size = 10),
      "^BiocParallel worker failed on chunk 3 of 3 \\(cells 513-614\\)")
  })
  # the default chunk size (5000) makes one chunk here: chunk 2 never runs
  withr::with_options(list(scmosaic.fail_chunk = 2L), {
    expect_identical(embed_cells(model, x, BPPARAM = BiocParallel::SerialParam()),
                     embed_cells(model, x))
  })
  # argument checks
  expect_scm_error(embed_cells(model, x, BPPARAM = "snow"), "'BPPARAM' must be NULL or a BiocParallel")
  expect_scm_error(embed_cells(model, x, BPPARAM = snow, chunk_size = 0), "'chunk_size' must be a positive")
  expect_scm_error(impute_modality(model, x, "ADT", BPPARAM = snow, worker_threads = -1),
                   "'worker_threads' must be a non-negative")
})

test_that("Seurat and SCE verbs with a trained model use BPPARAM", {
  skip_if_not_installed("BiocParallel")
  skip_if_not_installed("SeuratObject")
  s <- small()
  model <- trained_model()
  obj <- small_seurat(300)
  serial <- BiocParallel::SerialParam()
  a <- RunScVAEIT(obj, model = model, impute = "ADT", n_draws = 0, verbose = FALSE)
  b <- RunScVAEIT(obj, model = model, impute = "ADT", n_draws = 0, verbose = FALSE,
                  BPPARAM = serial, chunk_size = 64)
  expect_identical(SeuratObject::Embeddings(b, "scvaeit"), SeuratObject::Embeddings(a, "scvaeit"))
  expect_identical(SeuratObject::GetAssayData(b, assay = "ADT.imputed", slot = "data"),
                   SeuratObject::GetAssayData(a, assay = "ADT.imputed", slot = "data"))
  skip_if_not_installed("SingleCellExperiment")
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = s$rna[, 1:300]))
  SingleCellExperiment::mainExpName(sce) <- "RNA"
  one <- runScVAEIT(sce, model = model, verbose = FALSE)
  two <- runScVAEIT(sce, model = model, verbose = FALSE, BPPARAM = serial, chunk_size = 64)
  expect_identical(SingleCellExperiment::reducedDim(two, "scVAEIT"),
                   SingleCellExperiment::reducedDim(one, "scVAEIT"))
})

test_that("an error raised in Rust on a worker reaches the caller naming its chunk", {
  skip_if_not_installed("BiocParallel")
  s <- small()
  x <- list(RNA = s$rna[, 1:300])
  cov <- data.frame(score = rep(c(0.1, 0.5, 0.9), 100))
  # inference minibatches of 100 cells: chunks of 100
  m <- fit_multigrate(x, continuous_covariates = cov, verbose = FALSE,
                      config = list(latent_dim = 4, hidden = 16, train = list(epochs = 1),
                                    inference = list(batch_size = 100)))
  bad <- cov
  bad$score[150] <- NA  # Multigrate refuses missing continuous values
  expect_scm_error(embed_cells(m, x, continuous_covariates = bad),
                   "'score' is NaN \\(missing\\) in cell 149")
  expect_scm_error(
    embed_cells(m, x, continuous_covariates = bad, BPPARAM = BiocParallel::SnowParam(2),
                chunk_size = 100),
    "^BiocParallel worker failed on chunk 2 of 3 \\(cells 101-200\\): .*'score' is NaN \\(missing\\) in cell 49")
})

test_that("forked workers (MulticoreParam) work, also with all cores per worker", {
  skip_if_not_installed("BiocParallel")
  skip_on_os("windows")
  s <- small()
  model <- trained_model()
  x <- list(RNA = s$rna, ADT = s$adt_masked)
  # the session's model has used the process-wide thread pool before the fork
  z <- embed_cells(model, x)
  mc <- BiocParallel::MulticoreParam(2)
  expect_identical(embed_cells(model, x, BPPARAM = mc, chunk_size = 256, worker_threads = 0), z)
  expect_identical(impute_modality(model, x, "ADT", n_draws = 0, BPPARAM = mc, chunk_size = 256),
                   impute_modality(model, x, "ADT", n_draws = 0))
})
