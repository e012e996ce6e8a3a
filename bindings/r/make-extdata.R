# Writes the example data shipped with the R package,
# scmosaic/inst/extdata/reap_pbmc2_subset/: every 5th cell (614 cells) of the
# repository's data/reap_pbmc2 (REAP-seq PBMC, RNA + 43 surface proteins),
# all genes, in the same file layout (MatrixMarket, features x cells, gzip).
# Deterministic; run from the repository root after changing the selection:
#   Rscript bindings/r/make-extdata.R
src <- file.path("data", "reap_pbmc2")
dst <- file.path("bindings", "r", "scmosaic", "inst", "extdata", "reap_pbmc2_subset")
stopifnot(dir.exists(src))
dir.create(dst, recursive = TRUE, showWarnings = FALSE)

read <- function(f) {
  m <- Matrix::readMM(gzfile(file.path(src, f)))
  methods::as(methods::as(m, "CsparseMatrix"), "generalMatrix")
}
cells <- utils::read.delim(file.path(src, "cells.tsv"), check.names = FALSE)
keep <- seq(1, nrow(cells), by = 5)

# MatrixMarket coordinate integer general, entries sorted by column then row
# (as in the repository's files).
write_mtx <- function(m, f) {
  stopifnot(all(m@x == round(m@x)))
  con <- gzfile(file.path(dst, f), "w", compression = 9)
  on.exit(close(con))
  writeLines(c("%%MatrixMarket matrix coordinate integer general",
               sprintf("%d %d %d", nrow(m), ncol(m), length(m@x))), con)
  cols <- rep(seq_len(ncol(m)), diff(m@p))
  writeLines(sprintf("%d %d %d", m@i + 1L, cols, as.integer(m@x)), con)
}
write_mtx(read("rna.mtx.gz")[, keep, drop = FALSE], "rna.mtx.gz")
write_mtx(read("adt.mtx.gz")[, keep, drop = FALSE], "adt.mtx.gz")
for (f in c("rna_features.tsv", "adt_features.tsv", "rna_hvg.tsv")) {
  file.copy(file.path(src, f), file.path(dst, f), overwrite = TRUE)
}
writeLines(readLines(file.path(src, "barcodes.tsv"))[keep], file.path(dst, "barcodes.tsv"))
utils::write.table(cells[keep, ], file.path(dst, "cells.tsv"), sep = "\t", quote = FALSE,
                   row.names = FALSE)
tab <- table(cells$cell_type[keep], cells$split[keep])
readme <- c(
  "# REAP-seq PBMC subset (example data of the scmosaic R package)",
  "",
  "Every 5th cell (rows 1, 6, 11, ... of `cells.tsv`: 614 of 3069 cells) of the scmosaic",
  "repository's `data/reap_pbmc2`, with all 12990 genes and all 43 proteins, in the same",
  "file layout (made by `bindings/r/make-extdata.R` of the repository). Read it with",
  "`scmosaic_example()`.",
  "",
  "Source: peripheral blood mononuclear cells profiled with REAP-seq (RNA plus",
  "DNA-barcoded antibodies), GEO series GSE100501, samples GSM2685238 (mRNA) and",
  "GSM2685243 (protein); Peterson, V. M., Zhang, K. X., Kumar, N., Wong, J., Li, L.,",
  "Wilson, D. C., et al. (2017). Multiplexed quantification of proteins and transcripts",
  "in single cells. Nature Biotechnology 35(10), 936-939. Cell filtering as in Du, J.-H.,",
  "Cai, Z., Roeder, K. (2022), PNAS 119(49), e2214414119 (scVAEIT): cells with at least",
  "200 detected genes and under 5% mitochondrial UMIs; genes detected in at least 3 of",
  "the 3069 cells; counts unchanged.",
  "",
  "Cell-type labels (`cells.tsv`, column `cell_type`) were made by the scmosaic authors",
  "(scanpy Leiden clusters named by RNA and protein marker scores; cluster-level and",
  "approximate), as was the `split` column (20% of each type is `test`). The 2000",
  "highly variable genes in `rna_hvg.tsv` were chosen on the train cells of the full data.",
  "",
  "Files (features x cells, MatrixMarket coordinate integer, gzip):",
  "",
  "- `rna.mtx.gz`, `adt.mtx.gz`: RNA UMI and protein counts; rows follow",
  "  `rna_features.tsv` / `adt_features.tsv`, columns follow `barcodes.tsv`.",
  "- `cells.tsv`: barcode, sample, cell_type, split (tab-separated, header).",
  "- `rna_hvg.tsv`: 2000 highly variable genes.",
  "",
  "Cells per type and split:",
  "",
  "| cell_type | test | train |",
  "|---|---|---|",
  sprintf("| %s | %d | %d |", rownames(tab), tab[, "test"], tab[, "train"])
)
writeLines(readme, file.path(dst, "README.md"))
print(file.info(list.files(dst, full.names = TRUE))["size"])
