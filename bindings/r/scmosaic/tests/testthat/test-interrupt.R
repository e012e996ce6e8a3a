# Ctrl-C during training: a child R process gets SIGINT (what the console
# sends on Ctrl-C) while it trains; training stops after the current epoch,
# the interrupt does not escape, and the model stays usable.

test_that("SIGINT during training cancels it cleanly", {
  skip_on_os("windows")
  dir <- tempfile("scmosaic-interrupt")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  script <- file.path(dir, "child.R")
  out <- file.path(dir, "out.txt")
  writeLines(c(
    "suppressPackageStartupMessages(library(scmosaic))",
    "set.seed(1)",
    "rna <- Matrix::rsparsematrix(300, 200, 0.2, rand.x = function(n) rpois(n, 5) + 1)",
    "dimnames(rna) <- list(paste0('g', 1:300), paste0('c', 1:200))",
    "model <- scmosaic_model(list(RNA = rna), latent_dim = 4, hidden = 32, epochs = 100000,",
    "                        config = list(train = list(batch_size = 32)))",
    "train_model(model, list(RNA = rna), verbose = TRUE)",
    "cat('after training:', summary(model)$epochs_trained, 'epochs\\n')",
    "cat('embedding', dim(embed_cells(model, list(RNA = rna))), '\\n')",
    "cat('child done\\n')"
  ), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  libs <- paste(.libPaths(), collapse = .Platform$path.sep)
  child <- withr::with_envvar(c(R_LIBS = libs), processx::process$new(
    rscript, script, stdout = out, stderr = "2>&1", cleanup = TRUE
  ))
  on.exit(child$kill(), add = TRUE)
  log <- function() if (file.exists(out)) readLines(out, warn = FALSE) else character()
  # Wait for the first epoch (the child is then inside the Rust training loop).
  deadline <- Sys.time() + 60
  while (!any(grepl("scVAEIT epoch", log())) && child$is_alive() && Sys.time() < deadline) {
    Sys.sleep(0.1)
  }
  expect_true(child$is_alive(), info = paste(log(), collapse = "\n"))
  Sys.sleep(0.5)
  child$interrupt()  # SIGINT, as Ctrl-C in a terminal
  child$wait(30000)
  text <- paste(log(), collapse = "\n")
  expect_false(child$is_alive())
  expect_equal(child$get_exit_status(), 0L, info = text)
  expect_match(text, "training interrupted after [0-9]+ epochs?; the model keeps the last completed epoch")
  n <- as.integer(sub(".*after training: ([0-9]+) epochs.*", "\\1", text))
  expect_true(n >= 1 && n < 100000)
  expect_match(text, "embedding 200 4")
  expect_match(text, "child done")
})
