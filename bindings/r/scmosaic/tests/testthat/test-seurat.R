test_that("Seurat round trip: DimReduc usable by FindNeighbors/RunUMAP, imputed assay", {
  skip_if_not_installed("Seurat")
  suppressPackageStartupMessages(library(Seurat))
  s <- small()
  model <- trained_model()
  obj <- small_seurat()
  rna_only <- colnames(obj)[s$test]

  data <- scmosaic_data(obj, assays = c("RNA", "ADT"), features = list(RNA = rownames(s$rna)))
  expect_equal(data$modalities, c("RNA", "ADT"))
  expect_equal(data$n_measured, c(ncol(obj), sum(!s$test)))  # all-zero ADT = missing
  # Cells listed explicitly as missing.
  extra <- colnames(obj)[1:5]
  d2 <- scmosaic_data(obj, assays = c("RNA", "ADT"), features = list(RNA = rownames(s$rna)),
                      missing = list(ADT = extra))
  expect_equal(d2$n_measured[2], sum(!s$test) - sum(!s$test[1:5]))

  obj <- RunScVAEIT(obj, model = model, impute = "ADT", verbose = FALSE)
  expect_true("scvaeit" %in% Reductions(obj))
  emb <- Embeddings(obj, "scvaeit")
  expect_equal(dim(emb), c(ncol(obj), 16L))
  expect_identical(rownames(emb), colnames(obj))
  expect_identical(colnames(emb), paste0("SCVAEIT_", 1:16))
  expect_equal(unname(emb), unname(embed_cells(model, list(RNA = s$rna, ADT = s$adt_masked))),
               tolerance = 1e-6)
  expect_identical(Misc(obj[["scvaeit"]], "model"), model)

  expect_true("ADT.imputed" %in% Assays(obj))
  expect_identical(unname(obj$scvaeit_has_ADT), !s$test)
  expect_true(all(obj$scvaeit_has_RNA))
  # The imputed assay has no counts, so it is not taken as input by default.
  expect_equal(scmosaic_data(obj, features = list(RNA = rownames(s$rna)))$modalities,
               c("RNA", "ADT"))
  imp <- GetAssayData(obj, assay = "ADT.imputed", slot = "data")
  expect_equal(dim(imp), c(43L, ncol(obj)))
  direct <- impute_modality(model, list(RNA = s$rna, ADT = s$adt_masked), "ADT")
  expect_equal(as.matrix(imp), direct, tolerance = 1e-5, ignore_attr = TRUE)

  obj <- suppressWarnings(FindNeighbors(obj, reduction = "scvaeit", dims = 1:16, verbose = FALSE))
  obj <- FindClusters(obj, verbose = FALSE)
  expect_true(length(unique(Idents(obj))) > 1)
  obj <- suppressWarnings(RunUMAP(obj, reduction = "scvaeit", dims = 1:16, verbose = FALSE))
  expect_equal(dim(Embeddings(obj, "umap")), c(ncol(obj), 2L))
  # Features of the imputed assay can be fetched like any other.
  v <- FetchData(obj, vars = "adtimputed_CD19", cells = rna_only)
  expect_equal(nrow(v), length(rna_only))

  # Embedding and imputation verbs accept the Seurat object directly.
  expect_equal(embed_cells(model, obj), emb, tolerance = 1e-6, ignore_attr = TRUE)
  expect_equal(impute_modality(model, obj, "ADT"), direct, tolerance = 1e-5)
  expect_equal(impute_modality(model, obj, "ADT", n_draws = 0)[, rna_only],
               impute_modality(model, list(RNA = s$rna[, s$test]), "ADT", n_draws = 0), tolerance = 1e-5)
})

test_that("RunScVAEIT trains when no model is given (counts scale, custom names)", {
  skip_if_not_installed("Seurat")
  obj <- small_seurat(150)
  SeuratObject::VariableFeatures(obj) <- rownames(small()$rna)[1:500]
  obj <- RunScVAEIT(obj, assays = c("RNA", "ADT"), impute = "ADT", latent_dim = 4,
                    hidden = 16, epochs = 2, reduction.name = "joint", reduction.key = "JOINT_",
                    impute.scale = "counts", verbose = FALSE)
  m <- Misc(obj[["joint"]], "model")
  expect_equal(model_features(m)$RNA, rownames(small()$rna)[1:500])
  expect_equal(summary(m)$epochs_trained, 2L)
  expect_equal(colnames(SeuratObject::Embeddings(obj, "joint")), paste0("JOINT_", 1:4))
  counts <- SeuratObject::GetAssayData(obj, assay = "ADT.imputed", slot = "counts")
  expect_equal(dim(counts), c(43L, 150L))
})

test_that("merged Seurat objects: cells of an object without ADT lack ADT", {
  skip_if_not_installed("Seurat")
  s <- small()
  model <- trained_model()
  with_adt <- small_seurat(100)
  rna_only <- suppressWarnings(SeuratObject::CreateSeuratObject(
    counts = s$rna_all_genes[, 101:160]))
  merged <- merge(with_adt, rna_only)
  d <- scmosaic_data(merged, assays = c("RNA", "ADT"), features = list(RNA = rownames(s$rna)))
  expect_equal(d$n_cells, 160L)
  expect_identical(d$measured$ADT, c(!s$test[1:100], rep(FALSE, 60)))
  merged <- RunScVAEIT(merged, model = model, impute = "ADT", verbose = FALSE)
  expect_equal(sum(merged$scvaeit_has_ADT), sum(!s$test[1:100]))
  expect_equal(
    unname(SeuratObject::Embeddings(merged, "scvaeit")[101:160, ]),
    unname(embed_cells(model, list(RNA = s$rna[, 101:160]))), tolerance = 1e-5)
})
