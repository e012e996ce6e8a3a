//! Benchmark: the `scale v1` protocol (docs/performance.md#scale-v1). Synthetic
//! counts with the REAP-seq sparsity (2000 genes at 7.2% non-zeros, mean 3.9
//! per non-zero, as the bundled data's 2000 HVGs; 50 proteins at 46%, mean 27)
//! from 8 cell types, stored as CSR; the reap-impute v1 standardized model
//! (latent 32, batch 256; `--model multigrate`: the reap-impute v1 Multigrate
//! configuration, RNA `nb` + protein CLR `mse`). One size per process, so peak
//! memory is that size's:
//!
//! ```text
//! for n in 1000 10000 100000 1000000; do
//!   cargo bench --bench scale -- --cells $n --epochs 1 --threads 2 [--model multigrate]
//! done
//! ```
//! Prints seconds per epoch, training and embedding cells/s, the input's size
//! and the process's peak resident memory (VmHWM), and one JSON line.

use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scmosaic::{Dataset, Likelihood, Matrix, Modality, Model};
use scmosaic_eval::reap;
use std::time::Instant;

/// scale v1: training and embedding cost on synthetic REAP-like counts.
#[derive(Parser)]
#[command(name = "scale")]
struct Args {
    /// Cells.
    #[arg(long, default_value_t = 10_000)]
    cells: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Kernel threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Device (`cpu`, `cuda:0`, ...).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Model family.
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate"])]
    model: String,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Sparse counts: each cell of type t draws non-zeros with a type-specific
/// probability per feature, values 1 + geometric around the type's mean.
fn modality(
    name: &str,
    n: usize,
    d: usize,
    density: f64,
    mean: f64,
    types: &[usize],
    rng: &mut ChaCha8Rng,
) -> scmosaic::Result<Modality> {
    let n_types = 8;
    // Per type and feature: probability of a non-zero and mean value.
    let prof: Vec<Vec<(f64, f64)>> = (0..n_types)
        .map(|_| {
            (0..d)
                .map(|_| {
                    let w: f64 = rng.random_range(0.2..1.8);
                    (
                        (density * w).min(0.95),
                        (mean - 1.0) * rng.random_range(0.3..1.7),
                    )
                })
                .collect()
        })
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity((n as f64 * d as f64 * density * 1.05) as usize);
    let mut values = Vec::with_capacity(indices.capacity());
    indptr.push(0);
    for &t in types {
        for (j, &(p, m)) in prof[t].iter().enumerate() {
            if rng.random::<f64>() < p {
                // 1 + geometric with mean m
                let q = 1.0 / (1.0 + m);
                let u: f64 = rng.random::<f64>().max(1e-12);
                let extra = (u.ln() / (1.0 - q).ln()).floor();
                indices.push(j as u32);
                values.push((1.0 + extra) as f32);
            }
        }
        indptr.push(indices.len());
    }
    let features = (0..d).map(|j| format!("{name}{j}")).collect();
    Modality::new(
        name,
        Likelihood::Nb,
        features,
        Matrix::csr(n, d, indptr, indices, values)?,
    )
}

fn main() -> scmosaic::Result<()> {
    let args = Args::parse();
    let (n, epochs, threads, device) = (args.cells, args.epochs, args.threads, args.device);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let t0 = Instant::now();
    let types: Vec<usize> = (0..n).map(|_| rng.random_range(0..8)).collect();
    let rna = modality("rna", n, 2000, 0.0718, 3.86, &types, &mut rng)?;
    let adt = modality("adt", n, 50, 0.465, 26.8, &types, &mut rng)?;
    let nnz = rna.data().nnz() + adt.data().nnz();
    let data = Dataset::new(vec![rna, adt])?;
    let input_mib = (nnz * 8 + (n + 1) * 16) as f64 / (1024.0 * 1024.0);
    let gen_s = t0.elapsed().as_secs_f64();
    let rss_data = scmosaic_eval::peak_rss_mib();

    let mut cfg = match args.model.as_str() {
        "multigrate" => reap::multigrate_config(),
        _ => reap::standard_config(),
    };
    cfg.train.epochs = epochs;
    let mut model = Model::new(&cfg, &data)?;
    model.set_device(&device)?;
    model.set_threads(threads)?;
    let t = Instant::now();
    let report = model.fit(&data)?;
    let train_s = t.elapsed().as_secs_f64();
    let epoch_s = train_s / report.epochs_run.max(1) as f64;
    let t = Instant::now();
    let z = model.embed(&data)?;
    let embed_s = t.elapsed().as_secs_f64();
    assert_eq!(z.n_cells, n);
    let peak = scmosaic_eval::peak_rss_mib();
    println!(
        "scale v1, {}: {n} cells (2000 genes + 50 proteins, {nnz} non-zeros, input {input_mib:.0} MiB, \
         generated in {gen_s:.1} s), {} epochs on {} ({threads} threads; 0 = all cores)",
        model.kind().as_str(),
        report.epochs_run,
        model.device()
    );
    println!(
        "  train: {epoch_s:.2} s/epoch ({:.0} cells/s)   embed: {embed_s:.2} s ({:.0} cells/s)",
        n as f64 / epoch_s,
        n as f64 / embed_s
    );
    println!(
        "  peak RSS {peak:.0} MiB (after building the data: {rss_data:.0} MiB; model + training \
         on top: {:.0} MiB)",
        peak - rss_data
    );
    println!(
        "{{\"bench\":\"scale_v1\",\"model\":\"{}\",\"cells\":{n},\"nnz\":{nnz},\"input_mib\":{input_mib:.1},\"epochs\":{},\
         \"seconds_per_epoch\":{epoch_s:.4},\"train_cells_per_s\":{:.1},\"embed_seconds\":{embed_s:.4},\
         \"embed_cells_per_s\":{:.1},\"peak_rss_mib\":{peak:.1},\"data_rss_mib\":{rss_data:.1},\
         \"device\":\"{}\",\"threads\":{threads}}}",
        model.kind().as_str(),
        report.epochs_run,
        n as f64 / epoch_s,
        n as f64 / embed_s,
        model.device()
    );
    Ok(())
}
