test_that("a small model trains, embeds and imputes held-out protein accurately", {
  s <- small()
  model <- trained_model()
  expect_s3_class(model, c("scmosaic_scvaeit", "scmosaic_model"))
  expect_equal(summary(model)$epochs_trained, 20L)

  data <- scmosaic_data(list(RNA = s$rna, ADT = s$adt_masked))
  expect_equal(data$n_measured, c(ncol(s$rna), sum(!s$test)))
  z <- embed_cells(model, data)
  expect_equal(dim(z), c(ncol(s$rna), 16L))
  expect_identical(rownames(z), colnames(s$rna))
  expect_true(all(is.finite(z)))

  # Protein for the cells whose protein was removed, from their RNA only.
  rna_only <- list(RNA = s$rna[, s$test])
  imp <- impute_modality(model, rna_only, "ADT", scale = "counts")
  expect_equal(dim(imp), c(nrow(s$adt), sum(s$test)))
  expect_identical(rownames(imp), rownames(s$adt))
  expect_identical(colnames(imp), colnames(s$rna)[s$test])
  train_median <- stats::median(Matrix::colSums(s$adt[, !s$test]))
  r <- protein_pearson(imp, s$adt[, s$test], train_median)
  message(sprintf("held-out protein Pearson (CLR, %d cells): %.3f", sum(s$test), r))
  # Measured 0.462 (20 epochs, 614 cells); chance is about 0.
  expect_gt(r, 0.35)

  # The same cells inside the full dataset (ADT marked missing) give the same
  # answer (decoding the posterior means: draws depend on the cells' positions).
  expect_equal(impute_modality(model, data, "ADT", n_draws = 0)[, s$test],
               impute_modality(model, rna_only, "ADT", n_draws = 0), tolerance = 1e-5)
})

test_that("impute options: features, draws, variance, normalized scale", {
  s <- small()
  model <- trained_model()
  cells <- which(s$test)[1:20]
  data <- list(RNA = s$rna[, cells])
  one <- impute_modality(model, data, "ADT", features = c("CD19", "CD14"), n_draws = 5,
                variance = TRUE, draws = TRUE, seed = 7)
  expect_named(one, c("mean", "variance", "draws"))
  expect_equal(dim(one$mean), c(2L, 20L))
  expect_equal(dim(one$variance), c(2L, 20L))
  expect_equal(dim(one$draws), c(2L, 20L, 5L))
  expect_true(all(one$variance >= 0))
  expect_equal(one$mean, apply(one$draws, c(1, 2), mean), tolerance = 1e-4)
  again <- impute_modality(model, data, "ADT", features = c("CD19", "CD14"), n_draws = 5,
                  variance = TRUE, draws = TRUE, seed = 7)
  expect_identical(one, again)
  norm <- impute_modality(model, data, "ADT", n_draws = 0)
  expect_true(all(norm >= 0))
  rna_denoised <- impute_modality(model, data, "RNA", features = rownames(s$rna)[1:3])
  expect_equal(dim(rna_denoised), c(3L, 20L))
})

test_that("save -> load gives the same outputs, and print/summary work", {
  s <- small()
  model <- trained_model()
  path <- tempfile(fileext = ".safetensors")
  on.exit(unlink(path))
  expect_identical(save_model(model, path), path)
  expect_true(file.size(path) > 0)
  again <- load_model(path)
  data <- list(RNA = s$rna[, 1:50], ADT = s$adt_masked[, 1:50])
  expect_identical(embed_cells(again, data), embed_cells(model, data))
  expect_identical(impute_modality(again, data, "ADT", n_draws = 3),
                   impute_modality(model, data, "ADT", n_draws = 3))
  expect_identical(model_features(again), model_features(model))
  expect_output(print(again), "RNA \\(nb, 2,000 features\\), ADT \\(nb, 43 features\\)")
  expect_output(print(again), "trained 20 epochs")
  sm <- summary(model)
  expect_s3_class(sm, "summary.scmosaic_model")
  expect_equal(sm$modalities$features, c(2000L, 43L))
  expect_equal(nrow(sm$history), 20L)
  expect_output(print(sm), "Last epochs")
  h <- training_history(model)
  expect_equal(h$epoch, 1:20)
  expect_true(h$loss[20] < h$loss[1])
})

test_that("training can be cancelled between epochs and the model stays usable", {
  s <- small()
  data <- scmosaic_data(list(RNA = s$rna[, 1:100], ADT = s$adt[, 1:100]))
  model <- scmosaic_model(data, latent_dim = 4, hidden = 16, epochs = 10)
  expect_output(print(model), "untrained")
  # The Ctrl-C path: the progress callback returns Break after an epoch.
  withr_opt <- options(scmosaic.stop_after = 2L)
  on.exit(options(withr_opt))
  train_model(model, data, verbose = FALSE)
  options(withr_opt)
  expect_equal(summary(model)$epochs_trained, 2L)
  expect_equal(dim(embed_cells(model, data)), c(100L, 4L))
  # A later call trains on from there.
  train_model(model, data, verbose = FALSE)
  expect_equal(summary(model)$epochs_trained, 12L)
})

test_that("progress is printed on the console", {
  s <- small()
  data <- scmosaic_data(list(RNA = s$rna[, 1:60], ADT = s$adt[, 1:60]))
  model <- scmosaic_model(data, latent_dim = 4, hidden = 16, epochs = 3)
  out <- capture.output(msg <- capture.output(train_model(model, data, verbose = TRUE),
                                               type = "message"))
  expect_true(any(grepl("scVAEIT epoch 3/3", out)))
  expect_true(any(grepl("trained 3 epochs", msg)))
  expect_silent(train_model(model, data, verbose = FALSE))
})

test_that("dense matrices, integer matrices and dgCMatrix give the same data", {
  s <- small()
  model <- trained_model()
  sp <- list(RNA = s$rna[, 1:30], ADT = s$adt[, 1:30])
  dense <- lapply(sp, as.matrix)
  int <- lapply(dense, function(m) {
    storage.mode(m) <- "integer"
    m
  })
  z <- embed_cells(model, sp)
  expect_equal(embed_cells(model, dense), z)
  expect_equal(embed_cells(model, int), z)
  # Cells matched by name: a modality with a subset of the cells, in another order.
  sub <- list(RNA = s$rna[, 1:30], ADT = s$adt[, 30:11])
  d <- scmosaic_data(sub)
  expect_equal(d$n_measured, c(30L, 20L))
  expect_equal(embed_cells(model, sub)[11:30, ], z[11:30, ], tolerance = 1e-5)
})
