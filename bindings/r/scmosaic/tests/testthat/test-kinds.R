# Both models as first-class verbs: classes, print/summary, progress text,
# method/config agreement, Seurat and SingleCellExperiment reductions side by
# side, and the deprecated names.

expect_scm_error <- function(expr, pattern) {
  expect_error(expr, pattern, class = "scmosaic_error")
}

kind_cells <- function() {
  s <- small()
  list(RNA = s$rna[1:400, 1:150], ADT = s$adt_masked[, 1:150])
}

tiny <- list(latent_dim = 4, hidden = 16, train = list(epochs = 2, batch_size = 64))

test_that("model classes and print/summary name the model", {
  x <- kind_cells()
  sv <- fit_mosaic(x, config = tiny, verbose = FALSE)
  mg <- fit_mosaic(x, method = "multigrate", config = tiny, verbose = FALSE)
  expect_identical(class(sv), c("scmosaic_scvaeit", "scmosaic_model"))
  expect_identical(class(mg), c("scmosaic_multigrate", "scmosaic_model"))
  expect_identical(class(fit_multigrate(x, config = tiny, verbose = FALSE)), class(mg))
  expect_identical(class(fit_scvaeit(x, config = tiny, verbose = FALSE)), class(sv))
  expect_identical(class(scmosaic_model(x, method = "multigrate", config = tiny)), class(mg))
  # method from the config when not given (the old way)
  expect_identical(class(fit_mosaic(x, config = c(tiny, list(model = "multigrate")),
                                    verbose = FALSE)), class(mg))
  expect_output(print(sv), "<scVAEIT model \\(scmosaic\\)>")
  expect_output(print(mg), "<Multigrate model \\(scmosaic\\)>")
  expect_identical(summary(mg)$kind, "multigrate")
  expect_output(print(summary(mg)), "^Multigrate model \\(scmosaic\\)")
  expect_output(print(summary(sv)), "^scVAEIT model \\(scmosaic\\)")
  # the kind survives save/load and map_query
  path <- tempfile(fileext = ".safetensors")
  on.exit(unlink(path))
  save_model(mg, path)
  expect_identical(class(load_model(path)), class(mg))
  expect_identical(class(map_query(mg, x, train = FALSE)), class(mg))
  expect_identical(colnames(embed_cells(mg, x))[1], "Multigrate_1")
  expect_identical(colnames(embed_cells(sv, x))[1], "scVAEIT_1")
})

test_that("training progress and messages name the model", {
  x <- kind_cells()
  out <- capture.output(msg <- capture.output(
    fit_multigrate(x, config = tiny, verbose = TRUE), type = "message"))
  expect_true(any(grepl("^Multigrate epoch 1/2 ", out)), info = paste(out, collapse = "\n"))
  expect_false(any(grepl("scVAEIT", c(out, msg))))
  expect_true(any(grepl("^Multigrate: trained 2 epochs", msg)))
  out <- capture.output(msg <- capture.output(
    fit_scvaeit(x, config = tiny, verbose = TRUE), type = "message"))
  expect_true(any(grepl("^scVAEIT epoch 2/2 ", out)))
  expect_true(any(grepl("^scVAEIT: trained 2 epochs", msg)))
})

test_that("method and config must agree", {
  x <- kind_cells()
  expect_scm_error(fit_scvaeit(x, config = list(model = "multigrate"), verbose = FALSE),
                   "fit_scvaeit\\(\\) fits scVAEIT but config has model = \"multigrate\"; .*fit_multigrate\\(\\)")
  expect_scm_error(fit_mosaic(x, method = "scvaeit", config = '{"model": "multigrate"}',
                              verbose = FALSE),
                   "fits scVAEIT but config has model = \"multigrate\"")
  expect_scm_error(fit_multigrate(x, config = list(model = "scvaeit"), verbose = FALSE),
                   "fits Multigrate but config has model = \"scvaeit\"")
  expect_scm_error(fit_mosaic(x, method = "totalvi"), "'method' must be \"scvaeit\" or \"multigrate\"")
  expect_scm_error(fit_mosaic(x, method = c("scvaeit", "multigrate")),
                   "'method' must be")
})

test_that("Seurat: RunScVAEIT and RunMultigrate keep separate reductions and assays", {
  skip_if_not_installed("SeuratObject")
  obj <- small_seurat(150)
  obj <- RunScVAEIT(obj, features = list(RNA = rownames(small()$rna)[1:400]), impute = "ADT",
                    config = tiny, latent_dim = 6, n_draws = 0, verbose = FALSE)
  obj <- RunMultigrate(obj, features = list(RNA = rownames(small()$rna)[1:400]),
                       impute = "ADT", config = tiny, n_draws = 0, verbose = FALSE)
  expect_true(all(c("scvaeit", "multigrate") %in% SeuratObject::Reductions(obj)))
  expect_equal(ncol(SeuratObject::Embeddings(obj, "scvaeit")), 6L)
  expect_equal(ncol(SeuratObject::Embeddings(obj, "multigrate")), 4L)
  expect_identical(colnames(SeuratObject::Embeddings(obj, "multigrate"))[1], "MULTIGRATE_1")
  expect_true(all(c("ADT.imputed", "ADT.multigrate") %in% SeuratObject::Assays(obj)))
  mg <- SeuratObject::Misc(obj[["multigrate"]], "model")
  sv <- SeuratObject::Misc(obj[["scvaeit"]], "model")
  expect_s3_class(mg, "scmosaic_multigrate")
  expect_s3_class(sv, "scmosaic_scvaeit")
  expect_true(all(obj$multigrate_has_RNA))
  expect_scm_error(RunScVAEIT(obj, config = list(model = "multigrate"), verbose = FALSE),
                   "RunScVAEIT\\(\\) fits scVAEIT but config has model = \"multigrate\"; .*RunMultigrate\\(\\)")
  expect_scm_error(RunMultigrate(obj, model = sv, verbose = FALSE),
                   "RunMultigrate\\(\\) needs a Multigrate model, but 'model' is a scVAEIT model; use RunScVAEIT\\(\\)")
})

test_that("SingleCellExperiment: runScVAEIT and runMultigrate side by side", {
  skip_if_not_installed("SingleCellExperiment")
  x <- kind_cells()
  sce <- SingleCellExperiment::SingleCellExperiment(assays = list(counts = x$RNA))
  SingleCellExperiment::mainExpName(sce) <- "RNA"
  SingleCellExperiment::altExp(sce, "ADT") <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = x$ADT))
  sce <- runScVAEIT(sce, config = tiny, impute = "ADT", n_draws = 0, verbose = FALSE)
  sce <- runMultigrate(sce, config = tiny, latent_dim = 3, impute = "ADT", n_draws = 0,
                       verbose = FALSE)
  expect_setequal(SingleCellExperiment::reducedDimNames(sce), c("scVAEIT", "Multigrate"))
  expect_equal(ncol(SingleCellExperiment::reducedDim(sce, "Multigrate")), 3L)
  expect_true(all(c("ADT.imputed", "ADT.multigrate") %in%
                    SingleCellExperiment::altExpNames(sce)))
  expect_s3_class(S4Vectors::metadata(sce)$Multigrate, "scmosaic_multigrate")
  expect_scm_error(runMultigrate(sce, config = list(model = "scvaeit"), verbose = FALSE),
                   "runMultigrate\\(\\) fits Multigrate but config has model = \"scvaeit\"; .*runScVAEIT\\(\\)")
})

test_that("impute() and set_threads() still work, with a deprecation warning", {
  x <- kind_cells()
  m <- fit_scvaeit(x, config = tiny, verbose = FALSE)
  expect_warning(old <- impute(m, x, "ADT", n_draws = 0), "impute_modality")
  expect_identical(old, impute_modality(m, x, "ADT", n_draws = 0))
  expect_warning(set_threads(m, 1), "set_model_threads")
  expect_equal(summary(m)$threads, 1L)
  set_model_threads(m, 0)
  expect_equal(summary(m)$threads, 0L)
})
