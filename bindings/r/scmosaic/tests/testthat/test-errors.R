# Every bad input is an ordinary R error (class "scmosaic_error") with a
# message that says what is wrong; none crashes R.

expect_scm_error <- function(expr, pattern) {
  expect_error(expr, pattern, class = "scmosaic_error")
}

tiny <- function() {
  rna <- Matrix::rsparsematrix(20, 8, 0.5, rand.x = function(n) rpois(n, 5) + 1)
  adt <- Matrix::rsparsematrix(4, 8, 0.8, rand.x = function(n) rpois(n, 20) + 1)
  dimnames(rna) <- list(paste0("g", 1:20), paste0("c", 1:8))
  dimnames(adt) <- list(paste0("p", 1:4), paste0("c", 1:8))
  list(RNA = rna, ADT = adt)
}

test_that("wrong dimensions", {
  set.seed(1)
  x <- tiny()
  unnamed <- lapply(x, function(m) unname(as.matrix(m)))
  unnamed$ADT <- unnamed$ADT[, 1:5]
  rownames(unnamed$RNA) <- paste0("g", 1:20)
  rownames(unnamed$ADT) <- paste0("p", 1:4)
  expect_scm_error(scmosaic_data(unnamed), "different numbers of cells \\(RNA: 8, ADT: 5\\)")
  expect_scm_error(scmosaic_data(list(RNA = x$RNA[, 0])), "empty")
  expect_scm_error(scmosaic_data(list(RNA = as.data.frame(as.matrix(x$RNA)))), "data frame")
  expect_scm_error(scmosaic_data(x$RNA), "named list of features x cells matrices")
  expect_scm_error(scmosaic_data(list(x$RNA)), "modality name")
  expect_scm_error(scmosaic_data(list(RNA = suppressMessages(unname(x$RNA)))),
                   "feature names \\(rownames\\)")
  dup <- x$RNA
  rownames(dup)[2] <- "g1"
  expect_scm_error(scmosaic_data(list(RNA = dup)), "repeated feature name 'g1'")
  expect_scm_error(scmosaic_data(list(RNA = x$RNA, ADT = x$ADT), cells = c("zz", "yy")),
                   "modality 'RNA': none of its 8 cells \\(columns\\) is among the 2 cells")
  # Sparse slots that do not describe a matrix are caught by Rust.
  bad <- x$RNA
  bad@i[1] <- 99L
  expect_scm_error(scmosaic_data(list(RNA = bad)), "feature index 99")
})

test_that("NA, NaN, infinite and negative counts", {
  set.seed(2)
  x <- tiny()
  na <- x$ADT
  na@x[3] <- NA
  expect_scm_error(scmosaic_data(list(RNA = x$RNA, ADT = na)),
                   "modality 'ADT': 1 NA value \\(first at feature 'p[0-9]', cell 'c[0-9]'\\)")
  dense <- as.matrix(x$RNA)
  dense[2, 3] <- NaN
  expect_scm_error(scmosaic_data(list(RNA = dense)), "NA value.*feature 'g2', cell 'c3'")
  inf <- as.matrix(x$RNA)
  inf[1, 1] <- Inf
  expect_scm_error(scmosaic_data(list(RNA = inf)), "infinite value at feature 'g1', cell 'c1'")
  neg <- x$ADT
  neg@x[1] <- -3
  expect_scm_error(scmosaic_data(list(RNA = x$RNA, ADT = neg)),
                   "negative value \\(first -3 at .*'nb' likelihood needs raw, non-negative counts")
  # Gaussian modalities may be negative.
  expect_s3_class(scmosaic_data(list(RNA = x$RNA, ADT = neg), likelihood = c(ADT = "gaussian")),
                  "scmosaic_data")
  expect_scm_error(scmosaic_data(x, likelihood = c(ADT = "normal")), "unknown likelihood 'normal'")
  expect_scm_error(scmosaic_data(x, likelihood = c(ATAC = "bernoulli")), "unknown modality 'ATAC'")
  int <- as.matrix(x$RNA)
  storage.mode(int) <- "integer"
  int[5] <- NA
  expect_scm_error(scmosaic_data(list(RNA = int)), "NA value")
})

test_that("missing, covariates and config arguments are checked", {
  set.seed(3)
  x <- tiny()
  expect_scm_error(scmosaic_data(x, missing = list(ATAC = "c1")), "'missing' names an unknown modality")
  expect_scm_error(scmosaic_data(x, missing = list(ADT = "nope")), "cell name not in the data \\(first: 'nope'\\)")
  expect_scm_error(scmosaic_data(x, missing = list(ADT = paste0("c", 1:8))), "no cell has this modality")
  expect_scm_error(scmosaic_data(x, covariates = list(batch = c("a", NA, rep("b", 6)))), "NA labels")
  expect_scm_error(scmosaic_data(x, covariates = list(batch = c("a", "b"))), "2 labels for 8 cells")
  expect_scm_error(scmosaic_data(x, assays = "RNA"), "unknown argument: assays")
  expect_scm_error(scmosaic_model(x, config = list(latent_dmi = 4)), "latent_dmi")
  expect_scm_error(scmosaic_model(x, config = list(train = list(epochs = -1))),
                   "invalid configuration: .*-1.*config key 'train.epochs'")
  expect_scm_error(scmosaic_model(x, config = '{"train": {"batch_size": "big"}}'),
                   "config key 'train.batch_size'")
  expect_scm_error(scmosaic_model(x, config = "{not json"), "not valid JSON")
  expect_scm_error(scmosaic_model(x, latent_dim = 0), "'latent_dim' must be a positive whole number")
  expect_scm_error(fit_scvaeit(x, verbose = NA), "'verbose' must be TRUE or FALSE")
})

test_that("unknown modality, mismatched features, wrong objects", {
  set.seed(4)
  x <- tiny()
  model <- scmosaic_model(x, latent_dim = 2, hidden = 8, epochs = 1)
  expect_scm_error(impute_modality(model, x, "ATAC"), "the model has no modality 'ATAC' \\(modalities: RNA, ADT\\)")
  other <- x$RNA
  rownames(other) <- paste0("gene", 1:20)
  expect_scm_error(embed_cells(model, list(RNA = other)),
                   "modality 'RNA': none of the requested features is present")
  d <- scmosaic_data(list(RNA = other))
  expect_scm_error(embed_cells(model, d), "none of the 20 data features matches the model's 20 features")
  expect_scm_error(embed_cells(model, scmosaic_data(list(ATAC = x$RNA))), "modality 'ATAC', which the model does not know")
  expect_scm_error(impute_modality(model, x, "ADT", features = "CD999"), "feature 'CD999'")
  expect_scm_error(impute_modality(model, x, "ADT", covariates = c(batch = "a")), "covariate 'batch'")
  expect_scm_error(impute_modality(model, x, "ADT", covariates = c(batch = "a", batch = "b")),
                   "naming each covariate once")
  # The options reach Rust as the core's ImputeRequest / EmbedRequest JSON,
  # parsed there (ImputeRequest::from_json): one feature is still a list of
  # features, unknown keys and scales are errors of the core.
  one <- impute_modality(model, x, "ADT", features = "p2", n_draws = 0)
  expect_identical(dimnames(one), list("p2", colnames(x$ADT)))
  ptr <- scmosaic_data(x)$ptr
  expect_error(model_impute_(model, ptr, "ADT", list(n_drawz = 1), -1, 0L),
               "impute options: unknown field `n_drawz`")
  expect_error(model_impute_(model, ptr, "ADT", list(scale = "log"), -1, 0L),
               "impute options: unknown variant `log`")
  expect_error(model_embed_(model, ptr, NULL, list(sample = 1L), -1, 0L),
               "embed options: invalid type")
  expect_scm_error(embed_cells(list(), x), "expected a scmosaic model")
  expect_scm_error(scmosaic_data(42), "class 'numeric'")
  # Partially matching features: a warning, then the missing ones count as unmeasured.
  expect_warning(embed_cells(model, list(RNA = x$RNA[1:15, ])), "5 of 20 model features are absent")
})

test_that("missing, corrupt and stale model files", {
  set.seed(5)
  x <- tiny()
  expect_scm_error(load_model(file.path(tempdir(), "no-such-model.safetensors")), "does not exist")
  bad <- tempfile(fileext = ".safetensors")
  on.exit(unlink(bad))
  writeBin(charToRaw("definitely not a checkpoint"), bad)
  expect_scm_error(load_model(bad), "invalid checkpoint")
  model <- scmosaic_model(x, latent_dim = 2, hidden = 8, epochs = 1)
  expect_scm_error(save_model(model, file.path(tempdir(), "no", "such", "dir", "m.safetensors")), "I/O error")
  # Truncated file.
  path <- tempfile(fileext = ".safetensors")
  save_model(model, path)
  bytes <- readBin(path, "raw", file.size(path))
  writeBin(bytes[seq_len(length(bytes) %/% 2)], path)
  expect_scm_error(load_model(path), "invalid checkpoint")
  unlink(path)
  # An external pointer that went through saveRDS() is NULL afterwards.
  rds <- tempfile(fileext = ".rds")
  saveRDS(model, rds)
  stale <- readRDS(rds)
  unlink(rds)
  expect_scm_error(embed_cells(stale, x), "no longer valid.*save_model\\(\\) and load_model\\(\\)")
  expect_output(print(stale), "no longer valid")
})

test_that("Seurat and SingleCellExperiment inputs are checked", {
  skip_if_not_installed("Seurat")
  obj <- small_seurat(40)
  expect_scm_error(scmosaic_data(obj, assays = c("RNA", "PROTEIN")),
                   "assay 'PROTEIN' not found in the Seurat object \\(assays: RNA, ADT\\)")
  expect_scm_error(scmosaic_data(obj, assays = "RNA", features = list(RNA = c("CD3E", "NOTAGENE"))),
                   "1 requested feature not found \\(first: 'NOTAGENE'\\)")
  expect_scm_error(scmosaic_data(obj, assays = "ADT", covariates = "batch"),
                   "covariate 'batch' is not a meta.data column")
  expect_scm_error(RunScVAEIT(obj, assays = "ADT", reduction.key = "bad key"), "reduction.key")
  expect_scm_error(RunScVAEIT(list()), "needs a Seurat object")
  skip_if_not_installed("SingleCellExperiment")
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = small()$adt[, 1:20]))
  expect_scm_error(scmosaic_data(sce, experiments = "ADT"), "experiment 'ADT' not found")
  expect_scm_error(scmosaic_data(sce, assay.type = "raw"), "'experiments' must name|no assay 'raw'")
  expect_scm_error(scmosaic_data(sce, experiments = "RNA", assay.type = "raw"), "has no assay 'raw'")
})

test_that("a Rust panic is an R error, and R carries on", {
  expect_error(scmosaic:::debug_panic_(), "scmosaic test panic")
  expect_error(scmosaic:::debug_panic_(), "scmosaic test panic")
  expect_equal(1 + 1, 2)
})

test_that("a stale dataset pointer is an R error", {
  set.seed(6)
  x <- tiny()
  d <- scmosaic_data(x)
  rds <- tempfile(fileext = ".rds")
  saveRDS(d, rds)
  stale <- readRDS(rds)
  unlink(rds)
  expect_scm_error(embed_cells(scmosaic_model(d, latent_dim = 2, hidden = 8), stale),
                   "dataset is no longer valid")
})
