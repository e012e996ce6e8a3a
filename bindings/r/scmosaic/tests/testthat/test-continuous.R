# Continuous covariates: lists (data frame or named list), Seurat meta.data
# and SingleCellExperiment colData columns; both models; a model trained with
# them reads them from the object by default and needs them in every later
# dataset; bad input is an R error.

expect_scm_error <- function(expr, pattern) {
  expect_error(expr, pattern, class = "scmosaic_error")
}

cont_config <- list(latent_dim = 8, hidden = 32,
                    train = list(epochs = 3, batch_size = 64, validation_fraction = 0))
cont_mg_config <- c(list(model = "multigrate"), cont_config)

# 200 cells (RNA + ADT) with the RNA library size and a second numeric value.
cont_cells <- function() {
  s <- small()
  idx <- 1:200
  rna <- s$rna[, idx]
  list(rna = rna, adt = s$adt[, idx],
       cov = data.frame(depth = Matrix::colSums(rna), score = (seq_along(idx) %% 9) / 3,
                        row.names = colnames(rna)))
}

trained_cont <- function() {
  if (is.null(.fixtures$cont)) {
    d <- cont_cells()
    .fixtures$cont <- fit_scvaeit(list(RNA = d$rna, ADT = d$adt), config = cont_config,
                                  continuous_covariates = d$cov, verbose = FALSE)
  }
  .fixtures$cont
}

test_that("continuous covariates condition both models (lists)", {
  d <- cont_cells()
  x <- list(RNA = d$rna, ADT = d$adt)
  data <- scmosaic_data(x, continuous_covariates = d$cov)
  expect_identical(data$continuous_covariates, c("depth", "score"))
  expect_output(print(data), "continuous covariates: depth, score")
  for (cfg in list(cont_config, cont_mg_config)) {
    m <- fit_mosaic(x, config = cfg, continuous_covariates = d$cov, verbose = FALSE)
    expect_output(print(m), "continuous covariates: depth, score")
    expect_identical(summary(m)$continuous_covariates, c("depth", "score"))
    z <- embed_cells(m, x, continuous_covariates = d$cov)
    expect_true(all(is.finite(z)))
    # other covariate values, same counts: another embedding (Multigrate's
    # "sigm" takes raw values: a library size in the thousands saturates the
    # sigmoid, so the small-valued covariate is the one changed)
    shifted <- d$cov
    shifted$score <- shifted$score + 1
    expect_false(isTRUE(all.equal(z, embed_cells(m, x, continuous_covariates = shifted))))
    # data without the model's continuous covariates, or with others
    expect_scm_error(embed_cells(m, x), "continuous covariate 'depth'")
    expect_scm_error(embed_cells(m, x, continuous_covariates = d$cov["depth"]),
                     "continuous covariate 'score'")
    expect_scm_error(embed_cells(m, x, continuous_covariates = cbind(d$cov, age = 1)),
                     "'age', which the model was not trained with")
    # saved and loaded: same values
    path <- tempfile(fileext = ".safetensors")
    save_model(m, path)
    expect_identical(embed_cells(load_model(path), x, continuous_covariates = d$cov), z)
    unlink(path)
  }
})

test_that("NA: scVAEIT's training mean; Multigrate refuses it", {
  d <- cont_cells()
  x <- list(RNA = d$rna, ADT = d$adt)
  na <- d$cov
  na$depth[3] <- NA
  m <- fit_scvaeit(x, config = cont_config, continuous_covariates = na, verbose = FALSE)
  expect_true(all(is.finite(embed_cells(m, x, continuous_covariates = na))))
  expect_scm_error(fit_mosaic(x, config = cont_mg_config, continuous_covariates = na,
                               verbose = FALSE),
                   "'depth' is NaN \\(missing\\) in cell 2")
  # logsigm takes log1p: negative values are an error
  neg <- d$cov
  neg$score <- neg$score - 10
  expect_scm_error(
    fit_mosaic(x, config = c(cont_mg_config, list(multigrate = list(cont_cov_type = "logsigm"))),
                continuous_covariates = neg, verbose = FALSE),
    "values must be >= 0")
  expect_scm_error(
    fit_mosaic(x, config = c(cont_mg_config, list(multigrate = list(cont_cov_type = "mlp"))),
                continuous_covariates = d$cov, verbose = FALSE),
    "\"mlp\" is not implemented")
})

test_that("bad continuous covariates are R errors", {
  d <- cont_cells()
  x <- list(RNA = d$rna, ADT = d$adt)
  expect_scm_error(scmosaic_data(x, continuous_covariates = list(depth = 1:3)),
                   "'depth' has 3 values for 200 cells")
  expect_scm_error(scmosaic_data(x, continuous_covariates = list(depth = letters[1:200 %% 26 + 1])),
                   "'depth' must be numeric")
  expect_scm_error(scmosaic_data(x, continuous_covariates = list(depth = c(Inf, d$cov$depth[-1]))),
                   "infinite")
  expect_scm_error(scmosaic_data(x, continuous_covariates = d$cov$depth),
                   "must be a data frame or a named list")
  expect_scm_error(scmosaic_data(x, covariates = list(depth = rep("a", 200)),
                                 continuous_covariates = d$cov),
                   "'depth' has the name of a categorical covariate")
  expect_scm_error(scmosaic_data(x, continuous_covariates = d$cov[200:1, ][-1, ]),
                   "has 199 rows for 200 cells")
  # rows of a data frame are matched to the cells by name
  a <- embed_cells(trained_cont(), x, continuous_covariates = d$cov)
  b <- embed_cells(trained_cont(), x, continuous_covariates = d$cov[200:1, ])
  expect_identical(a, b)
})

test_that("Seurat: meta.data columns; a trained model reads its own", {
  skip_if_not_installed("SeuratObject")
  d <- cont_cells()
  obj <- small_seurat(200)
  obj$depth <- d$cov$depth
  obj$score <- d$cov$score
  feats <- list(RNA = rownames(d$rna))
  obj <- RunScVAEIT(obj, assays = c("RNA", "ADT"), features = feats, config = cont_config,
                    covariates = NULL, continuous_covariates = c("depth", "score"),
                    verbose = FALSE)
  m <- SeuratObject::Misc(obj[["scvaeit"]], "model")
  z <- SeuratObject::Embeddings(obj, "scvaeit")
  # the model's continuous covariates come from meta.data by default
  expect_equal(unname(embed_cells(m, obj)), unname(z), tolerance = 1e-6)
  obj2 <- RunScVAEIT(obj, model = m, reduction.name = "again", reduction.key = "AGAIN_",
                     verbose = FALSE)
  expect_equal(unname(SeuratObject::Embeddings(obj2, "again")), unname(z), tolerance = 1e-6)
  expect_scm_error(scmosaic_data(obj, features = feats, continuous_covariates = "nope"),
                   "'nope' is not a meta.data column")
  obj$label <- rep(c("a", "b"), 100)
  expect_scm_error(scmosaic_data(obj, features = feats, continuous_covariates = "label"),
                   "not numeric")
  obj$depth <- NULL
  expect_scm_error(embed_cells(m, obj), "'depth' is not a meta.data column")
})

test_that("SingleCellExperiment: colData columns; query mapping keeps the reference", {
  skip_if_not_installed("SingleCellExperiment")
  d <- cont_cells()
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = d$rna))
  SingleCellExperiment::altExp(sce, "ADT") <-
    SingleCellExperiment::SingleCellExperiment(assays = list(counts = d$adt))
  sce$depth <- d$cov$depth
  sce$score <- d$cov$score
  sce$batch <- rep(c("b0", "b1"), 100)
  ref <- sce[, 1:140]
  query <- sce[, 141:200]
  query$batch <- "b2"
  ref <- runMultigrate(ref, config = cont_mg_config, covariates = "batch",
                       continuous_covariates = c("depth", "score"), verbose = FALSE)
  m <- S4Vectors::metadata(ref)[["Multigrate"]]
  expect_s3_class(m, "scmosaic_multigrate")
  z_ref <- SingleCellExperiment::reducedDim(ref, "Multigrate")
  mapped <- map_query(m, query, verbose = FALSE)
  expect_identical(embed_cells(mapped, ref), embed_cells(m, ref))
  expect_equal(unname(embed_cells(mapped, ref)), unname(z_ref), tolerance = 1e-6)
  expect_true(all(is.finite(embed_cells(mapped, query))))
  query$score <- NULL
  expect_scm_error(map_query(m, query, verbose = FALSE), "'score' is not a colData column")
})
