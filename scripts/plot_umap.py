#!/usr/bin/env python3
"""UMAPs of embeddings written by `accuracy_probe --dump FILE.tsv`, coloured
by cell type and by which modalities each cell has, one row per embedding.

    python3 scripts/plot_umap.py OUT.png TITLE=FILE.tsv [TITLE=FILE.tsv ...]

Needs numpy, matplotlib and umap-learn (`pip install umap-learn matplotlib`);
not used by the library or its tests.
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import umap


def read(path):
    sets, types, rows = [], [], []
    with open(path) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            sets.append(parts[0])
            types.append(parts[1])
            rows.append([float(v) for v in parts[2:]])
    return np.array(sets), np.array(types), np.array(rows, dtype=np.float32)


def main():
    out, panels = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.6 * len(panels)), squeeze=False)
    for row, (title, path) in enumerate(panels):
        sets, types, z = read(path)
        xy = umap.UMAP(n_neighbors=15, min_dist=0.3, random_state=0).fit_transform(z)
        order = np.random.default_rng(0).permutation(len(xy))
        names = sorted(set(types))
        cmap = plt.get_cmap("tab20")
        ax = axes[row][0]
        for i, t in enumerate(names):
            m = types[order] == t
            ax.scatter(*xy[order][m].T, s=3, color=cmap(i % 20), label=t, rasterized=True)
        ax.set_title(f"{title}: cell type")
        ax.legend(markerscale=4, fontsize=6, ncol=2, frameon=False, loc="best")
        ax = axes[row][1]
        for s, c in [("rna+protein", "#bbbbbb"), ("rna only", "#d62728")]:
            m = sets[order] == s
            ax.scatter(*xy[order][m].T, s=3, color=c, label=s, rasterized=True)
        ax.set_title(f"{title}: measured modalities")
        ax.legend(markerscale=4, fontsize=8, frameon=False)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
