# Shared fixtures: the example data shipped with the package (every 5th cell
# of the repository's data/reap_pbmc2: 614 cells, 123 of them in the 'test'
# split; see ?scmosaic_example), and one small model trained once for the
# whole suite.

.fixtures <- new.env(parent = emptyenv())

find_upwards <- function(rel) {
  dir <- normalizePath(getwd(), mustWork = FALSE)
  repeat {
    cand <- file.path(dir, rel)
    if (file.exists(cand)) return(cand)
    parent <- dirname(dir)
    if (identical(parent, dir)) return(NULL)
    dir <- parent
  }
}

# The repository around the package, when there is one (tests of files
# outside the package: the README walkthrough, the generated wrappers):
# SCMOSAIC_ROOT (set by bindings/r/run-tests.sh), else searched upwards.
repo_root <- function() {
  env <- Sys.getenv("SCMOSAIC_ROOT")
  if (nzchar(env) && file.exists(file.path(env, "bindings", "r", "scmosaic", "DESCRIPTION"))) {
    return(env)
  }
  d <- find_upwards(file.path("bindings", "r", "scmosaic", "DESCRIPTION"))
  if (is.null(d)) NULL else dirname(dirname(dirname(dirname(d))))
}

# The example data, read once.
reap <- function() {
  if (is.null(.fixtures$reap)) .fixtures$reap <- scmosaic_example()
  .fixtures$reap
}

# The 2000 highly variable genes and all 43 proteins. Protein is removed
# (all-zero counts) for the test cells.
small <- function() {
  if (is.null(.fixtures$small)) {
    r <- reap()
    rna <- r$rna[r$hvg, ]
    adt <- r$adt
    test <- r$cells$split == "test"
    adt_masked <- adt
    adt_masked[, test] <- 0
    adt_masked <- Matrix::drop0(adt_masked)
    .fixtures$small <- list(
      rna = rna, adt = adt, adt_masked = adt_masked, test = test,
      rna_all_genes = r$rna, cell_type = r$cells$cell_type
    )
  }
  .fixtures$small
}

small_config <- list(latent_dim = 16, hidden = 128,
                     train = list(epochs = 20, batch_size = 32, learning_rate = 2e-3))

# One model for the suite, trained on RNA + ADT with ADT removed for the test cells.
trained_model <- function() {
  if (is.null(.fixtures$model)) {
    s <- small()
    .fixtures$model <- fit_scvaeit(list(RNA = s$rna, ADT = s$adt_masked),
                                   config = small_config, verbose = FALSE)
  }
  .fixtures$model
}

# Protein accuracy as in the Rust `reap-impute` protocol: imputed counts
# rescaled per cell to the median training protein library, CLR with the
# observed counts, Pearson per protein over the held-out cells, averaged.
protein_pearson <- function(imputed_counts, observed, train_library_median) {
  pred <- t(t(imputed_counts) * (train_library_median / pmax(colSums(imputed_counts), 1e-12)))
  clr <- function(m) {
    l <- log1p(pmax(m, 0))
    t(t(l) - colMeans(l))
  }
  o <- clr(as.matrix(observed))
  h <- clr(pred)
  r <- vapply(seq_len(nrow(o)), function(j) suppressWarnings(stats::cor(o[j, ], h[j, ])),
              numeric(1))
  mean(r, na.rm = TRUE)
}

# A small Seurat object: RNA (all genes) and ADT (all-zero for test cells).
small_seurat <- function(n = NULL) {
  s <- small()
  idx <- if (is.null(n)) seq_len(ncol(s$rna)) else seq_len(n)
  obj <- suppressWarnings(SeuratObject::CreateSeuratObject(counts = s$rna_all_genes[, idx]))
  obj[["ADT"]] <- SeuratObject::CreateAssayObject(counts = s$adt_masked[, idx])
  obj$cell_type <- s$cell_type[idx]
  obj
}
