//! The mosaic-trimodal v1 protocol (`../shared/docs/benchmarks.md`): train a
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
//!   (`scmosaic::data::synthetic`, 3 x 600 cells; `--data-seed` picks the data,
//!   `--cells-per-dataset` its size, `--batch-strength` the scale of the
//!   per-dataset batch effects, default 1): ADT imputed for dataset 2, ATAC for
//!   dataset 1, embedding of all cells.
//! - `--data snare`: SNARE-seq mouse cortex (`--snare-dir`, default
//!   `../shared/data/snare_mouse_cortex`): ATAC imputed from RNA for the test
//!   cells; `--max-cells` keeps a random subset for quick runs.
//!
//! The config is `{"model": MODEL}` merged with `--config` (JSON, any key of
//! `ModelConfig`), then `--epochs` (default 100) and `--seed` (default 0, the
//! training seed) applied; everything else is the model's default.

use scmosaic::data::synthetic::MosaicSpec;
use scmosaic::eval::{mosaic, snare};
use scmosaic::{EpochLog, ModelConfig};
use std::ops::ControlFlow;
use std::path::PathBuf;

struct Args {
    data: String,
    snare_dir: PathBuf,
    model: String,
    config: Option<PathBuf>,
    epochs: usize,
    seed: u64,
    data_seed: u64,
    threads: usize,
    max_cells: Option<usize>,
    cells_per_dataset: usize,
    batch_strength: f64,
    draws: Option<usize>,
    device: String,
    json: Option<PathBuf>,
    quiet: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        data: "synthetic".into(),
        snare_dir: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/snare_mouse_cortex"
        )),
        model: "scvaeit".into(),
        config: None,
        epochs: 100,
        seed: 0,
        data_seed: 0,
        threads: 0,
        max_cells: None,
        cells_per_dataset: MosaicSpec::default().n_cells_per_dataset,
        batch_strength: MosaicSpec::default().batch_strength,
        draws: None,
        device: "cpu".into(),
        json: None,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|_| format!("bad number '{s}'"));
        match flag.as_str() {
            "--data" => a.data = val()?,
            "--snare-dir" => a.snare_dir = val()?.into(),
            "--model" => a.model = val()?,
            "--config" => a.config = Some(val()?.into()),
            "--epochs" => a.epochs = num(val()?)?,
            "--seed" => a.seed = num(val()?)? as u64,
            "--data-seed" => a.data_seed = num(val()?)? as u64,
            "--threads" => a.threads = num(val()?)?,
            "--max-cells" => a.max_cells = Some(num(val()?)?),
            "--cells-per-dataset" => a.cells_per_dataset = num(val()?)?,
            "--batch-strength" => {
                let v = val()?;
                a.batch_strength = v.parse().map_err(|_| format!("bad number '{v}'"))?
            }
            "--draws" => a.draws = Some(num(val()?)?),
            "--device" => a.device = val()?,
            "--json" => a.json = Some(val()?.into()),
            "--quiet" => a.quiet = true,
            "-h" | "--help" => {
                println!(
                    "{}",
                    include_str!("mosaic_bench.rs")
                        .lines()
                        .take_while(|l| l.starts_with("//!"))
                        .map(|l| l.trim_start_matches("//!"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag '{other}' (see --help)")),
        }
    }
    if a.data != "synthetic" && a.data != "snare" {
        return Err(format!(
            "--data must be synthetic or snare, got '{}'",
            a.data
        ));
    }
    Ok(a)
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
    cfg.train.epochs = a.epochs;
    cfg.train.seed = a.seed;
    Ok(cfg)
}

fn run(a: Args) -> scmosaic::Result<()> {
    let cfg = config(&a)?;
    let opts = mosaic::RunOptions {
        threads: a.threads,
        device: a.device.clone(),
        n_draws: a.draws,
    };
    let quiet = a.quiet;
    let mut progress = |log: &EpochLog| {
        if !quiet && (log.epoch.is_multiple_of(10) || log.epoch == 1 || log.epoch == log.n_epochs) {
            eprintln!(
                "epoch {:>4}/{}  loss {:>10.3}  kl {:>7.3}  ({:.2} s)",
                log.epoch, log.n_epochs, log.train.total, log.train.kl, log.seconds
            );
        }
        ControlFlow::Continue(())
    };
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        a.threads
    };
    let (title, rows, mut json): (String, Vec<(&str, f64)>, serde_json::Value) = if a.data
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
            vec![
                ("ADT (d2) protein Pearson, mean", s.protein_pearson_mean),
                ("ADT (d2) protein Pearson, median", s.protein_pearson_median),
                ("ADT (d2) protein Spearman, mean", s.protein_spearman_mean),
                ("ATAC (d1) cell AUROC, mean", s.atac_auroc),
                ("ATAC (d1) cell AP, mean", s.atac_ap),
                ("  baseline: peak frequency AUROC", s.atac_auroc_baseline),
                ("  baseline: peak frequency AP", s.atac_ap_baseline),
                ("kNN accuracy d0 -> d1+d2 (k=15)", s.knn_accuracy),
                ("ARI", s.ari),
                ("batch entropy (dataset, k=15)", s.batch_entropy),
                ("batch ASW (dataset)", s.batch_asw),
                ("train seconds", s.cost.train_seconds),
                ("seconds per epoch", s.cost.seconds_per_epoch),
                ("impute seconds", s.cost.impute_seconds),
                ("peak RSS MiB", s.cost.peak_rss_mib),
                ("parameters", s.cost.params as f64),
            ],
            serde_json::to_value(&s).expect("scores serialize"),
        )
    } else {
        eprintln!(
                "mosaic-trimodal v1, SNARE-seq mouse cortex ({}): model {} on {} thread(s), {} epochs{}",
                a.snare_dir.display(),
                a.model,
                threads,
                a.epochs,
                a.max_cells
                    .map_or(String::new(), |m| format!(", at most {m} cells"))
            );
        let s = snare::run(&cfg, &a.snare_dir, a.max_cells, &opts, &mut progress)?;
        (
            format!(
                "SNARE-seq ({}; {} train, {} test cells, {} genes, {} peaks)",
                s.model, s.n_train, s.n_test, s.n_genes, s.n_peaks
            ),
            vec![
                ("ATAC (test) cell AUROC, mean", s.atac_auroc),
                ("ATAC (test) cell AP, mean", s.atac_ap),
                ("  baseline: peak frequency AUROC", s.atac_auroc_baseline),
                ("  baseline: peak frequency AP", s.atac_ap_baseline),
                ("kNN accuracy train -> test (k=15)", s.knn_accuracy),
                ("ARI", s.ari),
                ("batch entropy (library, k=15)", s.batch_entropy),
                ("batch ASW (library)", s.batch_asw),
                ("train seconds", s.cost.train_seconds),
                ("seconds per epoch", s.cost.seconds_per_epoch),
                ("impute seconds", s.cost.impute_seconds),
                ("peak RSS MiB", s.cost.peak_rss_mib),
                ("parameters", s.cost.params as f64),
            ],
            serde_json::to_value(&s).expect("scores serialize"),
        )
    };
    json["threads"] = serde_json::json!(threads);
    println!("{title}");
    for (name, v) in rows {
        println!("  {name:<38} {v:>10.3}");
    }
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
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
