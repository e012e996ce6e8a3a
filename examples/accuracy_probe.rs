//! Probe harness for the accuracy work (issue 16): trains one configuration
//! on reap-impute v1 and scores it on a **validation split of the training
//! cells** (default) or, once a configuration is chosen, on the test cells.
//!
//! ```text
//! cargo run --release --example accuracy_probe -- [--model scvaeit|multigrate] [--set JSON]...
//!     [--seed S] [--split val|test] [--val-fraction F] [--split-seed S] [--epochs N]
//!     [--draws N] [--pp-draws N] [--label NAME] [--out FILE.jsonl] [--threads N]
//! ```
//! `--set` merges a JSON object (RFC 7386 merge patch) over the model's
//! reap-impute defaults (`reap::standard_config` / `reap::multigrate_config`);
//! it may be given several times. `--split val` (the default) hides the protein
//! of a seeded 20% of the `split == train` cells (`--split-seed`, default 7,
//! independent of the model seed) and trains on the other 80%; `--split test`
//! is the protocol itself. Besides the protocol's scores it reports the
//! modality gap (share of an RNA-only cell's 15 neighbours in the joint
//! embedding of all cells that are RNA-only; perfect mixing = the RNA-only
//! share of all cells; and the share that are paired cells of its own type),
//! and with `--pp-draws N` (N > 0) the coverage of central 80% / 95%
//! posterior-predictive intervals on the per-cell CLR scale. One JSON line
//! per run goes to stdout and, with `--out`, is appended to that file.
//! `--dump FILE.tsv` writes every cell's embedding (`--model pca`: its 30
//! RNA principal components) with its cell type and whether its protein was
//! measured, for `scripts/plot_umap.py`.

use clap::Parser;
use scmosaic::{Model, ModelConfig};
use scmosaic_eval::coverage;
use scmosaic_eval::metrics::knn;
use scmosaic_eval::reap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Trains one configuration on reap-impute v1 and scores it on a validation
/// split of the training cells (default) or on the test cells.
#[derive(Parser)]
#[command(name = "accuracy_probe")]
struct Args {
    /// Model family (`pca`: the RNA-PCA baseline, no model).
    #[arg(long, default_value = "scvaeit", value_parser = ["scvaeit", "multigrate", "pca"])]
    model: String,
    /// A JSON merge patch over the model's reap-impute config (repeatable).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// Training seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// `val`: score held-out training cells; `test`: the protocol's test cells.
    #[arg(long, default_value = "val", value_parser = ["val", "test"])]
    split: String,
    /// Share of the training cells whose protein is hidden (`--split val`).
    #[arg(long, default_value_t = 0.2)]
    val_fraction: f64,
    /// Seed of the validation split (independent of the model seed).
    #[arg(long, default_value_t = 7)]
    split_seed: u64,
    /// Training epochs (default: the config's).
    #[arg(long)]
    epochs: Option<usize>,
    /// Posterior draws averaged by imputation (default: the config's).
    #[arg(long)]
    draws: Option<usize>,
    /// Posterior-predictive draws for interval coverage (0 = none).
    #[arg(long, default_value_t = 0)]
    pp_draws: usize,
    /// A name for this configuration in the JSON line.
    #[arg(long, default_value = "")]
    label: String,
    /// Append the JSON line to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Kernel threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Write every cell's embedding, type and modality set to this TSV file.
    #[arg(long)]
    dump: Option<PathBuf>,
}

/// RFC 7386 JSON merge patch.
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn config(a: &Args) -> Result<ModelConfig, String> {
    let base = match a.model.as_str() {
        "scvaeit" => reap::standard_config(),
        "multigrate" => reap::multigrate_config(),
        other => return Err(format!("unknown --model '{other}'")),
    };
    let mut v = serde_json::to_value(&base).map_err(|e| e.to_string())?;
    for s in &a.sets {
        let p: serde_json::Value =
            serde_json::from_str(s).map_err(|e| format!("--set '{s}': {e}"))?;
        merge(&mut v, &p);
    }
    let mut cfg = ModelConfig::from_json(&v.to_string()).map_err(|e| e.to_string())?;
    cfg.train.seed = a.seed;
    if let Some(e) = a.epochs {
        cfg.train.epochs = e;
    }
    Ok(cfg)
}

/// Modality gap in the joint embedding of all cells (`fit` paired, `held`
/// RNA-only): for each RNA-only cell, the share of its `k` nearest
/// neighbours (itself excluded) that are RNA-only, and the share that are
/// paired cells of its own type. Returns (RNA-only share, perfect-mixing
/// share, paired same-type share).
fn modality_gap(
    fit: &[f32],
    held: &[f32],
    d: usize,
    fit_labels: &[String],
    held_labels: &[String],
    k: usize,
) -> (f64, f64, f64) {
    let nf = fit.len() / d;
    let nh = held.len() / d;
    let mut all = fit.to_vec();
    all.extend_from_slice(held);
    let nn = knn(held, &all, d, k + 1, false);
    let (mut same, mut paired_type) = (0.0, 0.0);
    for (i, neigh) in nn.iter().enumerate() {
        let me = nf + i;
        let neigh: Vec<usize> = neigh
            .iter()
            .map(|&(j, _)| j)
            .filter(|&j| j != me)
            .take(k)
            .collect();
        let m = neigh.len() as f64;
        same += neigh.iter().filter(|&&j| j >= nf).count() as f64 / m;
        paired_type += neigh
            .iter()
            .filter(|&&j| j < nf && fit_labels[j] == held_labels[i])
            .count() as f64
            / m;
    }
    let perfect = (nh - 1) as f64 / (nf + nh - 1) as f64;
    (same / nh as f64, perfect, paired_type / nh as f64)
}

/// Dense log1p(CP10k) of a dataset's `rna`, scaled per gene (zero mean, unit
/// variance over all rows, clipped at 10, as scanpy's `pp.scale`), for the
/// PCA baseline. Returns row-major `[n, g]`.
fn rna_lognorm(sets: &[&scmosaic::Dataset]) -> (Vec<f64>, usize) {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut g = 0;
    for ds in sets {
        let m = ds.modality("rna").expect("rna");
        g = m.features().len();
        let mat = m.data();
        for r in 0..mat.n_rows() {
            let mut v = vec![0f64; g];
            let mut lib = 0f64;
            for (c, x) in mat.row(r) {
                v[c] = x as f64;
                lib += x as f64;
            }
            let f = if lib > 0.0 { 1e4 / lib } else { 0.0 };
            v.iter_mut().for_each(|x| *x = (*x * f).ln_1p());
            rows.push(v);
        }
    }
    let n = rows.len();
    let mut x: Vec<f64> = rows.into_iter().flatten().collect();
    for j in 0..g {
        let m = (0..n).map(|i| x[i * g + j]).sum::<f64>() / n as f64;
        let sd = ((0..n).map(|i| (x[i * g + j] - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        for i in 0..n {
            let z = if sd > 0.0 {
                (x[i * g + j] - m) / sd
            } else {
                0.0
            };
            x[i * g + j] = z.min(10.0);
        }
    }
    (x, g)
}

/// Top `k` principal-component scores of a centred `[n, g]` matrix
/// (subspace iteration on the covariance), row-major `[n, k]`.
fn pca_scores(x: &[f64], n: usize, g: usize, k: usize) -> Vec<f32> {
    let mut mean = vec![0f64; g];
    for i in 0..n {
        for j in 0..g {
            mean[j] += x[i * g + j] / n as f64;
        }
    }
    let mut cov = vec![0f64; g * g];
    for i in 0..n {
        let r: Vec<f64> = (0..g).map(|j| x[i * g + j] - mean[j]).collect();
        for a in 0..g {
            let ra = r[a];
            if ra == 0.0 {
                continue;
            }
            let row = &mut cov[a * g..(a + 1) * g];
            for (c, &rb) in row.iter_mut().zip(&r) {
                *c += ra * rb;
            }
        }
    }
    // subspace iteration: Q <- orth(C Q)
    let mut q: Vec<f64> = (0..g * k)
        .map(|i| ((i * 7919 % 1000) as f64 / 1000.0) - 0.5)
        .collect(); // [g, k]
    for _ in 0..60 {
        let mut y = vec![0f64; g * k];
        for a in 0..g {
            for b in 0..g {
                let c = cov[a * g + b];
                if c == 0.0 {
                    continue;
                }
                for t in 0..k {
                    y[a * k + t] += c * q[b * k + t];
                }
            }
        }
        // modified Gram-Schmidt on the columns
        for t in 0..k {
            for u in 0..t {
                let d: f64 = (0..g).map(|a| y[a * k + t] * y[a * k + u]).sum();
                for a in 0..g {
                    y[a * k + t] -= d * y[a * k + u];
                }
            }
            let nrm = (0..g).map(|a| y[a * k + t].powi(2)).sum::<f64>().sqrt();
            for a in 0..g {
                y[a * k + t] /= nrm.max(1e-300);
            }
        }
        q = y;
    }
    let mut out = vec![0f32; n * k];
    for i in 0..n {
        for t in 0..k {
            out[i * k + t] = (0..g)
                .map(|a| (x[i * g + a] - mean[a]) * q[a * k + t])
                .sum::<f64>() as f32;
        }
    }
    out
}

/// The RNA-PCA baseline: 30 PCs of scaled log1p(CP10k) RNA of all cells;
/// kNN (k = 15) label transfer, 9-cluster ARI, and protein by kNN
/// regression (mean of the 15 nearest train cells' counts), scored as the protocol.
/// Writes `set, cell_type, z...` per cell (train cells first) to `path`.
fn dump(
    path: &PathBuf,
    data: &reap::ReapData,
    zt: &[f32],
    zs: &[f32],
    d: usize,
) -> Result<(), String> {
    let mut out = String::from("set\tcell_type");
    for j in 0..d {
        out.push_str(&format!("\tz{j}"));
    }
    out.push('\n');
    let rows = zt
        .chunks(d)
        .zip(&data.train_labels)
        .map(|r| ("rna+protein", r))
        .chain(zs.chunks(d).zip(&data.test_labels).map(|r| ("rna only", r)));
    for (set, (z, label)) in rows {
        out.push_str(&format!("{set}\t{label}"));
        for v in z {
            out.push_str(&format!("\t{v}"));
        }
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
}

fn pca_baseline(data: &reap::ReapData, dump_to: Option<&PathBuf>) -> serde_json::Value {
    use scmosaic_eval::metrics::{adjusted_rand_index, clr, column_correlations, knn_accuracy};
    let (x, g) = rna_lognorm(&[&data.train, &data.test]);
    let nt = data.train.n_cells();
    let n = x.len() / g;
    let k = 30;
    let z = pca_scores(&x, n, g, k);
    let (zt, zs) = z.split_at(nt * k);
    if let Some(p) = dump_to {
        if let Err(e) = dump(p, data, zt, zs, k) {
            eprintln!("error: {e}");
        }
    }
    let acc = knn_accuracy(zt, &data.train_labels, zs, &data.test_labels, k, 15);
    let labels: Vec<&String> = data.train_labels.iter().chain(&data.test_labels).collect();
    let mut types = labels.clone();
    types.sort();
    types.dedup();
    let clusters = scmosaic_eval::cluster::cluster_to_k(&z, k, types.len(), 15, 0);
    let ari = adjusted_rand_index(&clusters, &labels);
    // protein: kNN regression from the train cells' counts
    let p = data.proteins.len();
    let tr = reap::protein_counts(&data.train, &data.proteins).expect("protein counts");
    let nn = knn(zs, zt, k, 15, false);
    let mut pred = vec![0f64; nn.len() * p];
    for (i, neigh) in nn.iter().enumerate() {
        for &(j, _) in neigh {
            for c in 0..p {
                pred[i * p + c] += tr[j * p + c] / neigh.len() as f64;
            }
        }
        let s: f64 = pred[i * p..(i + 1) * p].iter().sum();
        if s > 0.0 {
            pred[i * p..(i + 1) * p]
                .iter_mut()
                .for_each(|v| *v *= data.train_protein_median / s);
        }
    }
    let (pm, pmed, sm) = column_correlations(&clr(&data.test_protein_counts, p), &clr(&pred, p), p);
    let (gap, perfect, paired_type) =
        modality_gap(zt, zs, k, &data.train_labels, &data.test_labels, 15);
    serde_json::json!({
        "label": "rna_pca", "model": "pca", "pearson": pm, "pearson_median": pmed,
        "spearman": sm, "knn": acc, "ari": ari, "gap_same_share": gap,
        "gap_perfect": perfect, "gap_paired_type_share": paired_type,
    })
}

fn run(a: Args) -> Result<(), String> {
    let e = |e: scmosaic::Error| e.to_string();
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/reap_pbmc2"));
    let full = reap::load(&dir, None).map_err(e)?;
    let data = match a.split.as_str() {
        "val" => reap::validation_split(&full, a.val_fraction, a.split_seed).map_err(e)?,
        "test" => full,
        other => return Err(format!("unknown --split '{other}' (val or test)")),
    };
    if a.model == "pca" {
        let mut json = pca_baseline(&data, a.dump.as_ref());
        json["split"] = a.split.clone().into();
        return emit(&json, a.out.as_ref());
    }
    let cfg = config(&a)?;
    let mut model = Model::new(&cfg, &data.train).map_err(e)?;
    model.set_threads(a.threads).map_err(e)?;
    let t0 = Instant::now();
    let report = model.fit(&data.train).map_err(e)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let s = reap::evaluate(&model, &data, a.draws).map_err(e)?;
    let zt = model.embed(&data.train).map_err(e)?;
    let zs = model.embed(&data.test).map_err(e)?;
    if let Some(p) = &a.dump {
        dump(p, &data, &zt.values, &zs.values, zt.dim)?;
    }
    let (gap, perfect, paired_type) = modality_gap(
        &zt.values,
        &zs.values,
        zt.dim,
        &data.train_labels,
        &data.test_labels,
        15,
    );
    let mut cov = serde_json::Value::Null;
    if a.pp_draws > 0 {
        let c = coverage::predictive_clr_coverage(
            &model,
            &data.test,
            "adt",
            &data.proteins,
            &data.test_protein_counts,
            a.pp_draws,
        )
        .map_err(e)?;
        cov = serde_json::json!({"cover80": c.cover80, "cover95": c.cover95, "width80": c.width80});
    }
    let json = serde_json::json!({
        "label": a.label,
        "model": a.model,
        "split": a.split,
        "seed": a.seed,
        "sets": a.sets,
        "epochs_run": report.epochs_run,
        "pearson": s.protein_pearson_mean,
        "pearson_median": s.protein_pearson_median,
        "spearman": s.protein_spearman_mean,
        "clr_rmse": s.clr_rmse,
        "cell_pearson": s.cell_pearson_mean,
        "knn": s.knn_accuracy,
        "ari": s.ari,
        "gap_same_share": gap,
        "gap_perfect": perfect,
        "gap_paired_type_share": paired_type,
        "coverage": cov,
        "s_per_epoch": train_seconds / report.epochs_run.max(1) as f64,
    });
    emit(&json, a.out.as_ref())
}

/// Prints one JSON line and appends it to `out` when given.
fn emit(json: &serde_json::Value, out: Option<&PathBuf>) -> Result<(), String> {
    println!("{json}");
    if let Some(p) = out {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|err| format!("{}: {err}", p.display()))?;
        writeln!(f, "{json}").map_err(|err| err.to_string())?;
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
