//! The hao-mosaic v1 protocol on the bundled `data/hao_pbmc_mosaic` (1,600
//! PBMCs; donor p1 RNA only, p2 protein only, p3 and p4 both): RNA -> protein
//! for p4 (p4's protein hidden; with the coverage of central 80% / 95%
//! posterior-predictive intervals of its CLR values), protein -> RNA for p4
//! (a second model, p4's RNA hidden), label transfer p3 -> p1 / p2 / p4, an
//! 8-cluster ARI, donor mixing and the modality gap. Prints a table and one JSON object.
//!
//! ```text
//! cargo run --release --example hao_mosaic -- [--model scvaeit|multigrate|pca-knn] [--seed S]
//!     [--epochs N] [--batch-size N] [--latent N] [--config FILE.json] [--data DIR]
//!     [--cells-per-donor N] [--threads N] [--draws N] [--device D] [--json FILE] [--quiet]
//! ```
//! The config is `{"model": MODEL}` (each model's defaults) merged with
//! `--config` (JSON, any key of `ModelConfig`), then `--seed` (default 0) and
//! whichever of `--epochs`, `--batch-size` and `--latent` are given.
//! `--model pca-knn` runs the model-free baselines (kNN regression and label
//! transfer in RNA and protein PCA spaces; no training, no seed).

use clap::Parser;
use scmosaic::ModelConfig;
use scmosaic_eval::cli::{self, RunFlags};
use scmosaic_eval::hao::{self, HaoData, HaoScores};
use std::path::PathBuf;

/// Runs hao-mosaic v1 for one model and seed (or the baselines).
#[derive(Parser)]
#[command(name = "hao_mosaic")]
struct Args {
    /// Model family, or `pca-knn` for the baselines.
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate", "pca-knn"])]
    model: String,
    /// Training epochs (default: the model's).
    #[arg(long)]
    epochs: Option<usize>,
    /// Minibatch size (default: the model's).
    #[arg(long = "batch-size", value_name = "N")]
    batch: Option<usize>,
    /// Latent dimension (default: the model's).
    #[arg(long)]
    latent: Option<usize>,
    /// A JSON patch merged over `{"model": MODEL}` (any key of `ModelConfig`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data folder.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/hao_pbmc_mosaic"))]
    data: PathBuf,
    /// Keep a seeded random subset of at most this many cells per donor (quick runs).
    #[arg(long = "cells-per-donor", value_name = "N")]
    cells_per_donor: Option<usize>,
    #[command(flatten)]
    run: RunFlags,
}

/// `{"model": MODEL}`, merged with the config file, then the flags.
fn config(a: &Args) -> scmosaic::Result<ModelConfig> {
    let mut cfg = cli::model_config(&a.model, a.config.as_deref())?;
    cfg.train.seed = a.run.seed;
    if let Some(e) = a.epochs {
        cfg.train.epochs = e;
    }
    if let Some(b) = a.batch {
        cfg.train.batch_size = b;
    }
    if let Some(l) = a.latent {
        cfg.latent_dim = l;
    }
    Ok(cfg)
}

fn print_table(s: &HaoScores) {
    let mut rows: Vec<(String, f64)> = vec![
        ("p4 protein Pearson, mean".into(), s.protein.pearson_mean),
        (
            "p4 protein Pearson, median".into(),
            s.protein.pearson_median,
        ),
        ("p4 protein Spearman, mean".into(), s.protein.spearman_mean),
        ("p4 protein CLR RMSE".into(), s.protein.clr_rmse),
        (
            "p4 protein cell Pearson, mean".into(),
            s.protein.cell_pearson_mean,
        ),
    ];
    if let Some(c) = &s.protein_coverage {
        rows.push(("p4 protein 80% interval coverage".into(), c.cover80));
        rows.push(("p4 protein 95% interval coverage".into(), c.cover95));
    }
    rows.extend([
        ("p4 RNA gene Pearson, mean".into(), s.rna.pearson_mean),
        ("p4 RNA gene Spearman, mean".into(), s.rna.spearman_mean),
        ("label transfer p3 -> p1 (RNA only)".into(), s.transfer_p1),
        (
            "label transfer p3 -> p2 (protein only)".into(),
            s.transfer_p2,
        ),
        ("label transfer p3 -> p4 (RNA only)".into(), s.transfer_p4),
        ("ARI (8 clusters)".into(), s.ari),
        ("donor entropy (k=15)".into(), s.donor_entropy),
        ("donor ASW".into(), s.donor_asw),
    ]);
    if let Some(m) = &s.donor_mixing {
        for (d, l) in &m.levels {
            rows.push((format!("same-donor neighbours {d}"), l.same));
            rows.push((format!("  perfect mixing {d}"), l.same_if_mixed));
        }
    }
    if let Some(g) = &s.modality_gap {
        for (set, l) in &g.levels {
            rows.push((format!("same-set neighbours {set}"), l.same));
            rows.push((format!("  perfect mixing {set}"), l.same_if_mixed));
            if let Some(p) = l.paired_same_type {
                rows.push((format!("paired same-type neighbours {set}"), p));
            }
        }
        rows.push(("modality-set kNN entropy".into(), g.entropy));
    }
    rows.push(("train seconds (both models)".into(), s.cost.train_seconds));
    rows.push(("peak RSS MiB".into(), s.cost.peak_rss_mib));
    cli::print_rows(
        &format!("hao-mosaic v1 ({}, seed {})", s.model, s.seed),
        &rows,
        42,
    );
}

fn run(a: Args) -> scmosaic::Result<()> {
    let mut data = HaoData::load(&a.data)?;
    if let Some(n) = a.cells_per_donor {
        data = data.subsample(n, a.run.seed)?;
    }
    let threads = a.run.threads_used();
    eprintln!(
        "hao-mosaic v1: {} cells, {} genes, {} proteins; {} on {} thread(s)",
        data.n_cells(),
        data.genes.len(),
        data.proteins.len(),
        a.model,
        threads
    );
    let s = if a.model == "pca-knn" {
        hao::baseline_scores(&data)?
    } else {
        let cfg = config(&a)?;
        let mut progress = a.run.progress(25);
        hao::run(&cfg, &data, &a.run.options(), &mut progress)?
    };
    print_table(&s);
    let mut json = serde_json::to_value(&s).expect("scores serialize");
    json["threads"] = serde_json::json!(threads);
    a.run.emit(&json)
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
