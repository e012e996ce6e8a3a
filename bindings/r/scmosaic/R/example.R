#' Example data: a REAP-seq PBMC subset
#'
#' Reads the data shipped with the package: 614 peripheral blood mononuclear
#' cells (every 5th cell of the repository's `data/reap_pbmc2`) with RNA
#' counts of 12,990 genes and surface-protein counts of 43 antibodies
#' (REAP-seq, Peterson et al., Nature Biotechnology 2017; GEO GSE100501),
#' cell-type labels and a train/test split. The files (MatrixMarket,
#' features x cells) and their provenance are in
#' `system.file("extdata", "reap_pbmc2_subset", package = "scmosaic")`.
#'
#' @return A list with `rna` and `adt` (dgCMatrix, features x cells, raw
#'   counts), `cells` (a data frame with `barcode`, `sample`, `cell_type`,
#'   `split`; one row per cell, in column order) and `hvg` (2000 highly
#'   variable genes).
#' @examples
#' ex <- scmosaic_example()
#' dim(ex$rna)
#' dim(ex$adt)
#' table(ex$cells$cell_type)
#' @export
scmosaic_example <- function() {
  dir <- system.file("extdata", "reap_pbmc2_subset", package = "scmosaic", mustWork = TRUE)
  read <- function(f) {
    m <- Matrix::readMM(gzfile(file.path(dir, f)))
    methods::as(methods::as(m, "CsparseMatrix"), "generalMatrix")
  }
  cells <- utils::read.delim(file.path(dir, "cells.tsv"), stringsAsFactors = FALSE)
  rna <- read("rna.mtx.gz")
  adt <- read("adt.mtx.gz")
  dimnames(rna) <- list(readLines(file.path(dir, "rna_features.tsv")), cells$barcode)
  dimnames(adt) <- list(readLines(file.path(dir, "adt_features.tsv")), cells$barcode)
  list(rna = rna, adt = adt, cells = cells, hvg = readLines(file.path(dir, "rna_hvg.tsv")))
}
