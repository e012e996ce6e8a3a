# Prediction intervals: quantiles of posterior-predictive draws, with the
# protein fitted by totalVI's NB mixture (Multigrate), serial and on workers.

test_that("impute_modality returns ordered prediction-interval quantiles", {
  s <- small()
  x <- list(RNA = s$rna[1:400, 1:150], ADT = s$adt_masked[, 1:150])
  cfg <- list(latent_dim = 4, hidden = 16, train = list(epochs = 3, batch_size = 64),
              modalities = list(list(name = "RNA", likelihood = "nb"),
                                list(name = "ADT", likelihood = "nb", normalization = "clr",
                                     nb_mixture = list())))
  mg <- fit_multigrate(x, config = cfg, verbose = FALSE)
  pi <- impute_modality(mg, x, "ADT", scale = "counts", n_draws = 20, predictive = TRUE,
                        quantiles = c(0.1, 0.5, 0.9), draws = TRUE)
  expect_identical(dim(pi$quantiles), c(nrow(x$ADT), ncol(x$ADT), 3L))
  expect_identical(dimnames(pi$quantiles)[1:2], dimnames(pi$mean))
  expect_true(all(pi$quantiles[, , 1] <= pi$quantiles[, , 2]))
  expect_true(all(pi$quantiles[, , 2] <= pi$quantiles[, , 3]))
  # predictive draws of a count model are counts
  expect_true(all(pi$draws == round(pi$draws)) && all(pi$draws >= 0))
  # wider than the quantiles of the decoder mean alone
  mq <- impute_modality(mg, x, "ADT", scale = "counts", n_draws = 20,
                        quantiles = c(0.1, 0.9))
  width <- function(q) sum(q[, , dim(q)[3]] - q[, , 1])
  expect_gt(width(pi$quantiles), 2 * width(mq$quantiles))
  # seeded, and the same in chunks on workers
  again <- impute_modality(mg, x, "ADT", scale = "counts", n_draws = 20, predictive = TRUE,
                           quantiles = c(0.1, 0.5, 0.9), draws = TRUE)
  expect_identical(again$quantiles, pi$quantiles)
  chunked <- impute_modality(mg, x, "ADT", scale = "counts", n_draws = 20, predictive = TRUE,
                             quantiles = c(0.1, 0.9), BPPARAM = BiocParallel::SerialParam(),
                             chunk_size = 64L)
  expect_identical(dim(chunked$quantiles), c(nrow(x$ADT), ncol(x$ADT), 2L))
  expect_identical(dimnames(chunked$quantiles)[[2]], colnames(x$ADT))
  expect_true(all(chunked$quantiles[, , 1] <= chunked$quantiles[, , 2]))
  # bad requests are clear errors
  expect_error(impute_modality(mg, x, "ADT", n_draws = 5, quantiles = c(0.1, 1.5)),
               "quantiles")
  expect_error(impute_modality(mg, x, "ADT", n_draws = 0, quantiles = 0.5), "n_draws")
})
