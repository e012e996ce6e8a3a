#!/usr/bin/env python3
"""Which cell types a latent splits, and along what.

Reads an embedding dump of `accuracy_probe --split test --dump FILE.tsv`
(rows: the protocol's train cells, then its test cells) and the REAP-seq
folder, clusters the embedding with k-means (k = 8, as many clusters as the
protocol's ARI asks for), and prints per cell type how its cells fall into
the clusters, the ARI over all / paired / RNA-only cells, and for the two
largest clusters of the given types the mean log RNA and protein library.

usage: scripts/cluster_split.py DUMP.tsv REAP_DIR [TYPE ...]
needs: numpy, scikit-learn
"""
import collections
import csv
import gzip
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score


def libraries(path, n_cells):
    """Per-cell sums of a MatrixMarket file (cells as rows or columns)."""
    with gzip.open(path, "rt") as f:
        line = f.readline()
        while line.startswith("%"):
            line = f.readline()
        rows, cols, _ = map(int, line.split())
        data = np.loadtxt(f, ndmin=2)
    idx = data[:, 0] if rows == n_cells else data[:, 1]
    return np.bincount(idx.astype(int) - 1, weights=data[:, 2], minlength=n_cells)


def main():
    dump, folder = sys.argv[1], sys.argv[2]
    types_of_interest = sys.argv[3:] or ["CD14 Mono", "CD4 T"]
    rows = list(csv.reader(open(dump), delimiter="\t"))[1:]
    z = np.array([[float(v) for v in r[2:]] for r in rows])
    cell_type = np.array([r[1] for r in rows])
    paired = np.array([r[0] == "rna+protein" for r in rows])
    cells = list(csv.reader(open(f"{folder}/cells.tsv"), delimiter="\t"))[1:]
    split = np.array([c[3] for c in cells])
    order = np.concatenate([np.where(split == "train")[0], np.where(split == "test")[0]])
    rna = libraries(f"{folder}/rna.mtx.gz", len(cells))[order]
    adt = libraries(f"{folder}/adt.mtx.gz", len(cells))[order]
    km = KMeans(8, n_init=10, random_state=0).fit(z).labels_
    ari = adjusted_rand_score
    print(
        f"ARI all {ari(cell_type, km):.3f}, paired {ari(cell_type[paired], km[paired]):.3f}, "
        f"RNA-only {ari(cell_type[~paired], km[~paired]):.3f}"
    )
    for t in sorted(set(cell_type)):
        c = collections.Counter(km[cell_type == t])
        print(f"  {t:<14}", " ".join(f"{c.get(k, 0):4d}" for k in range(8)))
    for t in types_of_interest:
        sel = cell_type == t
        for k, n in collections.Counter(km[sel]).most_common(2):
            s = sel & (km == k)
            print(
                f"{t}: cluster {k}, {n} cells, mean log RNA library {np.log(rna[s]).mean():.2f}, "
                f"mean log(1 + protein library) {np.log1p(adt[s]).mean():.2f}"
            )


if __name__ == "__main__":
    main()
