//! Benchmark: one training epoch, imputation of the test cells and embedding
//! of all cells on the bundled REAP-seq data with the reap-impute v1
//! standardized configuration of either model (2455 train cells, 10 steps of
//! 256 per epoch; 614 test cells imputed, scVAEIT with 50 posterior draws as
//! the reference, Multigrate from the decoder mean as the reference).
//!
//! ```text
//! cargo bench --bench reap [-- --model scvaeit|multigrate --device cpu --threads 2 --repeats 5 --epochs 5]
//! ```
//! Each training repeat is one `fit` of `--epochs` epochs (default 5, so the
//! optimizer and allocator are in their steady state as in a whole run),
//! reported per epoch. Prints the median and min of each figure and one JSON line.

use clap::Parser;
use scmosaic::{ImputeRequest, ImputeScale, Model};
use scmosaic_eval::reap;
use std::time::Instant;

/// One training epoch, imputation and embedding on the bundled REAP-seq data
/// (reap-impute v1 standardized configuration).
#[derive(Parser)]
#[command(name = "reap")]
struct Args {
    /// Model family.
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate"])]
    model: String,
    /// Device (`cpu`, `cuda:0`, ...).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Kernel threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Timed repeats of each figure.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    repeats: u64,
    /// Epochs per training repeat.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0])
}

fn main() -> scmosaic::Result<()> {
    let args = Args::parse();
    let (device, threads) = (args.device, args.threads);
    let (repeats, epochs) = (args.repeats as usize, args.epochs as usize);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/reap_pbmc2");
    let data = reap::load(&dir, None)?;
    let kind = args.model;
    let (mut cfg, draws, label) = match kind.as_str() {
        "multigrate" => (reap::multigrate_config(), None, "Multigrate"),
        _ => (reap::standard_config(), Some(50), "scVAEIT"),
    };
    cfg.train.epochs = 1;
    let mut model = Model::new(&cfg, &data.train)?;
    model.set_device(&device)?;
    model.set_threads(threads)?;
    model.fit(&data.train)?; // warm-up
    model.set_epochs(epochs)?;
    let mut epoch = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        model.fit(&data.train)?;
        epoch.push(t.elapsed().as_secs_f64() / epochs as f64);
    }
    let mut req = ImputeRequest::new("adt");
    req.scale = ImputeScale::Counts;
    req.n_draws = draws;
    model.impute(&data.test, &req)?;
    let mut impute = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        model.impute(&data.test, &req)?;
        impute.push(t.elapsed().as_secs_f64());
    }
    let mut embed = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        model.embed(&data.train)?;
        model.embed(&data.test)?;
        embed.push(t.elapsed().as_secs_f64());
    }
    let (e_med, e_min) = stats(epoch);
    let (i_med, i_min) = stats(impute);
    let (m_med, m_min) = stats(embed);
    let n_all = (data.train.n_cells() + data.test.n_cells()) as f64;
    println!(
        "{label} reap-impute v1 on {} ({} threads; 0 = all cores), {repeats} repeats of {epochs} epochs",
        model.device(),
        threads
    );
    println!(
        "  train epoch (2455 cells)      median {e_med:.3} s   min {e_min:.3} s   ({:.0} cells/s)",
        2455.0 / e_med
    );
    let how = draws.map_or("decoder mean".to_string(), |d| format!("{d} draws"));
    println!("  impute 614 cells ({how})   median {i_med:.3} s   min {i_min:.3} s");
    println!(
        "  embed {n_all} cells            median {m_med:.3} s   min {m_min:.3} s   ({:.0} cells/s)",
        n_all / m_med
    );
    println!(
        "{}",
        serde_json::json!({
            "model": kind, "device": model.device().name(), "threads": threads,
            "epochs_per_repeat": epochs,
            "epoch_seconds_median": e_med, "epoch_seconds_min": e_min,
            "impute_seconds_median": i_med, "impute_seconds_min": i_min,
            "embed_seconds_median": m_med, "embed_cells_per_second": n_all / m_med,
        })
    );
    Ok(())
}
