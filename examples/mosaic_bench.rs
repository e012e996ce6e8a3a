//! The mosaic-trimodal v1 protocol (`docs/results.md`): train a
//! model on a mosaic and print imputation and integration scores as a table
//! and one JSON object.
//!
//! ```text
//! cargo run --release --example mosaic_bench -- [--data synthetic|snare]
//!     [--snare-dir DIR] [--model scvaeit|multigrate] [--config FILE.json]
//!     [--epochs N] [--seed S] [--data-seed S] [--threads N] [--max-cells N]
//!     [--cells-per-dataset N] [--batch-strength F] [--draws N] [--device D] [--json FILE] [--quiet]
//! ```
//! - `--data synthetic` (default): the seeded synthetic trimodal mosaic
//!   (`scmosaic_eval::synthetic`, 3 x 600 cells; `--data-seed` picks the data,
//!   `--cells-per-dataset` its size, `--batch-strength` the scale of the
//!   per-dataset batch effects, default 1): ADT imputed for dataset 2, ATAC for
//!   dataset 1, embedding of all cells.
//! - `--data snare`: SNARE-seq mouse cortex (`--snare-dir`: the folder of the
//!   data, which is not bundled; see docs/results.md): ATAC imputed from RNA for the test
//!   cells; `--max-cells` keeps a random subset for quick runs.
//!
//! The config is `{"model": MODEL}` merged with `--config` (JSON, any key of
//! `ModelConfig`), then `--epochs` (default 100) and `--seed` (default 0, the
//! training seed) applied; everything else is the model's default.

use clap::Parser;
use scmosaic::ModelConfig;
use scmosaic_eval::cli::{self, RunFlags};
use scmosaic_eval::synthetic::MosaicSpec;
use scmosaic_eval::{mosaic, snare};
use std::path::PathBuf;

/// Trains a model on a mosaic (mosaic-trimodal v1) and prints imputation and
/// integration scores as a table and one JSON object.
#[derive(Parser)]
#[command(name = "mosaic_bench")]
struct Args {
    /// The seeded synthetic trimodal mosaic, or SNARE-seq mouse cortex.
    #[arg(long, default_value = "synthetic", value_parser = ["synthetic", "snare"])]
    data: String,
    /// Folder of the SNARE-seq data (needed by `--data snare`; not bundled).
    #[arg(long = "snare-dir", required_if_eq("data", "snare"))]
    snare_dir: Option<PathBuf>,
    /// Model family.
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate"])]
    model: String,
    /// A JSON patch merged over `{"model": MODEL}` (any key of `ModelConfig`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Training epochs.
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Seed of the synthetic data.
    #[arg(long = "data-seed", default_value_t = 0)]
    data_seed: u64,
    /// SNARE-seq: keep a random subset of this many cells.
    #[arg(long = "max-cells")]
    max_cells: Option<usize>,
    /// Synthetic: cells in each of the three datasets.
    #[arg(long = "cells-per-dataset", default_value_t = MosaicSpec::default().n_cells_per_dataset)]
    cells_per_dataset: usize,
    /// Synthetic: scale of the per-dataset batch effects.
    #[arg(long = "batch-strength", default_value_t = MosaicSpec::default().batch_strength)]
    batch_strength: f64,
    #[command(flatten)]
    run: RunFlags,
}

/// `{"model": MODEL}`, merged with the config file, then the flags.
fn config(a: &Args) -> scmosaic::Result<ModelConfig> {
    let mut cfg = cli::model_config(&a.model, a.config.as_deref())?;
    cfg.train.epochs = a.epochs;
    cfg.train.seed = a.run.seed;
    Ok(cfg)
}

fn run(a: Args) -> scmosaic::Result<()> {
    let cfg = config(&a)?;
    let opts = a.run.options();
    let mut progress = a.run.progress(10);
    let threads = a.run.threads_used();
    let (title, rows, mut json): (String, Vec<(String, f64)>, serde_json::Value) = if a.data
        == "synthetic"
    {
        let spec = MosaicSpec {
            n_cells_per_dataset: a.cells_per_dataset,
            seed: a.data_seed,
            batch_strength: a.batch_strength,
            ..MosaicSpec::default()
        };
        eprintln!(
            "mosaic-trimodal v1, synthetic: 3 x {} cells, {} genes, {} proteins, {} peaks, \
                 {} types; model {} on {} thread(s), {} epochs",
            spec.n_cells_per_dataset,
            spec.n_genes,
            spec.n_proteins,
            spec.n_peaks,
            spec.n_types,
            a.model,
            threads,
            a.epochs
        );
        let s = mosaic::run(&cfg, &spec, &opts, &mut progress)?;
        (
            format!("mosaic-trimodal v1, synthetic ({})", s.model),
            [
                ("ADT (d2) protein Pearson, mean", s.protein_pearson_mean),
                ("ADT (d2) protein Pearson, median", s.protein_pearson_median),
                ("ADT (d2) protein Spearman, mean", s.protein_spearman_mean),
            ]
            .map(|(k, v)| (k.to_string(), v))
            .into_iter()
            .chain(s.scores.rows("d1", "d0 -> d1+d2", "dataset"))
            .chain(cost_rows(&s.cost))
            .collect(),
            serde_json::to_value(&s).expect("scores serialize"),
        )
    } else {
        let snare_dir = a
            .snare_dir
            .as_ref()
            .expect("clap requires --snare-dir with --data snare");
        eprintln!(
                "mosaic-trimodal v1, SNARE-seq mouse cortex ({}): model {} on {} thread(s), {} epochs{}",
                snare_dir.display(),
                a.model,
                threads,
                a.epochs,
                a.max_cells
                    .map_or(String::new(), |m| format!(", at most {m} cells"))
            );
        let s = snare::run(&cfg, snare_dir, a.max_cells, &opts, &mut progress)?;
        (
            format!(
                "SNARE-seq ({}; {} train, {} test cells, {} genes, {} peaks)",
                s.model, s.n_train, s.n_test, s.n_genes, s.n_peaks
            ),
            s.scores
                .rows("test", "train -> test", "library")
                .into_iter()
                .chain(cost_rows(&s.cost))
                .collect(),
            serde_json::to_value(&s).expect("scores serialize"),
        )
    };
    json["threads"] = serde_json::json!(threads);
    cli::print_rows(&title, &rows, 38);
    a.run.emit(&json)
}

fn cost_rows(c: &scmosaic_eval::RunCost) -> impl Iterator<Item = (String, f64)> {
    c.rows().into_iter().map(|(k, v)| (k.to_string(), v))
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
