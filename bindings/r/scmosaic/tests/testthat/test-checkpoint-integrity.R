# A damaged model file is an R error of class "scmosaic_error" saying the
# file is corrupt, never a silently different model: the checkpoint's
# integrity check covers the config, the feature names and the weights
# (docs/checkpoint-format.md in the repository).

test_that("damaged model files are rejected as corrupt", {
  set.seed(19)
  rna <- Matrix::rsparsematrix(12, 10, 0.5, rand.x = function(n) rpois(n, 5) + 1)
  adt <- Matrix::rsparsematrix(3, 10, 0.8, rand.x = function(n) rpois(n, 20) + 1)
  dimnames(rna) <- list(paste0("gene", 1:12), paste0("c", 1:10))
  dimnames(adt) <- list(paste0("p", 1:3), paste0("c", 1:10))
  model <- scmosaic_model(list(RNA = rna, ADT = adt), latent_dim = 2, hidden = 8, epochs = 1)
  path <- tempfile(fileext = ".safetensors")
  on.exit(unlink(path))
  save_model(model, path)
  good <- readBin(path, "raw", file.size(path))
  expect_s3_class(load_model(path), "scmosaic_model")

  damaged <- function(bytes) {
    writeBin(bytes, path)
    expect_error(load_model(path), "invalid checkpoint: .*the file is .*corrupt",
                 class = "scmosaic_error")
  }
  # One byte of a feature name ("gene7" -> "gune7"): still valid JSON, and
  # would otherwise load with that gene treated as missing.
  at <- grepRaw("gene7", good, fixed = TRUE)
  expect_true(length(at) == 1L && at > 8L)
  bytes <- good
  bytes[at + 1L] <- charToRaw("u")
  damaged(bytes)
  # One byte of a config value.
  at <- grepRaw("beta_unobs", good, fixed = TRUE)
  digit <- at + regexpr("[1-8]", rawToChar(good[at:(at + 40L)])) - 1L
  bytes <- good
  bytes[digit] <- as.raw(as.integer(good[digit]) + 1L)
  damaged(bytes)
  # One bit of a weight, and truncations.
  bytes <- good
  n <- length(bytes)
  bytes[n - 4L] <- xor(bytes[n - 4L], as.raw(0x40))
  damaged(bytes)
  damaged(good[seq_len(n - 1L)])
  damaged(good[seq_len(n %/% 2L)])
  damaged(good[1:7])
  # Restored, it loads again.
  writeBin(good, path)
  expect_s3_class(load_model(path), "scmosaic_model")
})
