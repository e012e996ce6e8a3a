//! The hao-mosaic v1 protocol on the bundled `data/hao_pbmc_mosaic` (1,600
//! PBMCs; donor p1 RNA only, p2 protein only, p3 and p4 both): RNA -> protein
//! for p4 (p4's protein hidden), protein -> RNA for p4 (a second model, p4's
//! RNA hidden), label transfer p3 -> p1 / p2 / p4, an 8-cluster ARI, donor
//! mixing and the modality gap. Prints a table and one JSON object.
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
use scmosaic::{EpochLog, ModelConfig};
use scmosaic_eval::hao::{self, HaoData, HaoScores};
use scmosaic_eval::mosaic::RunOptions;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Runs hao-mosaic v1 for one model and seed (or the baselines).
#[derive(Parser)]
#[command(name = "hao_mosaic")]
struct Args {
    /// Model family, or `pca-knn` for the baselines.
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate", "pca-knn"])]
    model: String,
    /// Training seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
    /// Kernel threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Posterior draws averaged by imputation (default: the config's).
    #[arg(long)]
    draws: Option<usize>,
    /// Device (`cpu`, `cuda:0`, ...).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Also write the JSON object to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No per-epoch progress.
    #[arg(long)]
    quiet: bool,
}

/// `{"model": MODEL}`, merged with the config file, then the flags.
fn config(a: &Args) -> scmosaic::Result<ModelConfig> {
    let mut cfg = ModelConfig::from_json(&format!(r#"{{"model": "{}"}}"#, a.model))?;
    if let Some(p) = &a.config {
        let text = std::fs::read_to_string(p).map_err(|e| scmosaic::Error::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        let patch: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| scmosaic::Error::InvalidConfig(format!("{}: {e}", p.display())))?;
        cfg = cfg.merged(patch)?;
    }
    cfg.train.seed = a.seed;
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
    println!("hao-mosaic v1 ({}, seed {})", s.model, s.seed);
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
    ];
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
    for (name, v) in rows {
        println!("  {name:<42} {v:>8.3}");
    }
}

fn run(a: Args) -> scmosaic::Result<()> {
    let mut data = HaoData::load(&a.data)?;
    if let Some(n) = a.cells_per_donor {
        data = data.subsample(n, a.seed)?;
    }
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        a.threads
    };
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
        let opts = RunOptions {
            threads: a.threads,
            device: a.device.clone(),
            n_draws: a.draws,
        };
        let quiet = a.quiet;
        let mut progress = |log: &EpochLog| {
            if !quiet
                && (log.epoch.is_multiple_of(25) || log.epoch == 1 || log.epoch == log.n_epochs)
            {
                eprintln!(
                    "epoch {:>4}/{}  loss {:>10.3}  kl {:>7.3}  ({:.2} s)",
                    log.epoch, log.n_epochs, log.train.total, log.train.kl, log.seconds
                );
            }
            ControlFlow::Continue(())
        };
        hao::run(&cfg, &data, &opts, &mut progress)?
    };
    print_table(&s);
    let mut json = serde_json::to_value(&s).expect("scores serialize");
    json["threads"] = serde_json::json!(threads);
    println!("{json}");
    if let Some(p) = &a.json {
        std::fs::write(p, format!("{json}\n")).map_err(|e| scmosaic::Error::Io {
            path: p.display().to_string(),
            source: e,
        })?;
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
