# Shared fixtures: the bundled REAP-seq PBMC data (data/reap_pbmc2 of the
# repository) read with Matrix::readMM, a subset of cells, and one small model
# trained once for the whole suite.
#
# The data are found through SCMOSAIC_DATA (set by bindings/r/run-tests.sh),
# else by searching upwards from the working directory for data/reap_pbmc2.

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

data_dir <- function() {
  env <- Sys.getenv("SCMOSAIC_DATA")
  if (nzchar(env) && dir.exists(env)) return(env)
  find_upwards(file.path("data", "reap_pbmc2"))
}

repo_root <- function() {
  env <- Sys.getenv("SCMOSAIC_ROOT")
  if (nzchar(env) && file.exists(file.path(env, "README.md"))) return(env)
  d <- data_dir()
  if (is.null(d)) return(NULL)
  dirname(dirname(d))
}

skip_without_data <- function() {
  if (is.null(data_dir())) {
    skip("bundled data not found: set SCMOSAIC_DATA to the repository's data/reap_pbmc2")
  }
}

# Full matrices (features x cells, dgCMatrix) with names; read once.
reap <- function() {
  if (is.null(.fixtures$reap)) {
    d <- data_dir()
    read <- function(f) {
      m <- Matrix::readMM(gzfile(file.path(d, f)))
      methods::as(methods::as(m, "CsparseMatrix"), "generalMatrix")
    }
    genes <- readLines(file.path(d, "rna_features.tsv"))
    prots <- readLines(file.path(d, "adt_features.tsv"))
    bc <- readLines(file.path(d, "barcodes.tsv"))
    rna <- read("rna.mtx.gz")
    adt <- read("adt.mtx.gz")
    dimnames(rna) <- list(genes, bc)
    dimnames(adt) <- list(prots, bc)
    .fixtures$reap <- list(
      rna = rna, adt = adt,
      hvg = readLines(file.path(d, "rna_hvg.tsv")),
      cells = utils::read.delim(file.path(d, "cells.tsv"))
    )
  }
  .fixtures$reap
}

# Every 5th cell (614 cells, 123 of them in the 'test' split), the 2000
# highly variable genes and all 43 proteins. Protein is removed (all-zero
# counts) for the test cells.
small <- function() {
  if (is.null(.fixtures$small)) {
    r <- reap()
    keep <- seq(1, ncol(r$rna), by = 5)
    rna <- r$rna[r$hvg, keep]
    adt <- r$adt[, keep]
    test <- r$cells$split[keep] == "test"
    adt_masked <- adt
    adt_masked[, test] <- 0
    adt_masked <- Matrix::drop0(adt_masked)
    .fixtures$small <- list(
      rna = rna, adt = adt, adt_masked = adt_masked, test = test,
      rna_all_genes = r$rna[, keep], cell_type = r$cells$cell_type[keep]
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
