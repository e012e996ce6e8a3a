//! Shared helpers of the integration tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scmosaic::{Covariate, Dataset, Likelihood, Matrix, Modality, ModelConfig};
use std::path::PathBuf;

/// The bundled REAP-seq folder.
pub fn reap_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/reap_pbmc2")
}

/// A small synthetic RNA + protein dataset with 3 cell types and 2 batches:
/// Poisson counts around type-specific profiles, stored as CSR.
pub fn synthetic(n: usize, genes: usize, proteins: usize, seed: u64) -> (Dataset, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let types = 3;
    let prof = |rng: &mut ChaCha8Rng, d: usize, scale: f64| -> Vec<Vec<f64>> {
        (0..types)
            .map(|_| {
                (0..d)
                    .map(|_| scale * rng.random_range(0.05..1.0f64).powi(3))
                    .collect()
            })
            .collect()
    };
    let g_prof = prof(&mut rng, genes, 8.0);
    let p_prof = prof(&mut rng, proteins, 60.0);
    let mut labels = Vec::with_capacity(n);
    let (mut gt, mut pt) = (Vec::new(), Vec::new());
    let mut batch = Vec::new();
    for i in 0..n {
        let t = rng.random_range(0..types);
        labels.push(t);
        let b = i % 2;
        batch.push(if b == 0 { "b0" } else { "b1" });
        let depth = rng.random_range(0.5..1.5f64) * if b == 0 { 1.0 } else { 1.4 };
        for (j, &m) in g_prof[t].iter().enumerate() {
            let v = poisson(&mut rng, m * depth);
            if v > 0.0 {
                gt.push((i as u32, j as u32, v as f32));
            }
        }
        for (j, &m) in p_prof[t].iter().enumerate() {
            let v = poisson(&mut rng, m * depth + 2.0);
            if v > 0.0 {
                pt.push((i as u32, j as u32, v as f32));
            }
        }
    }
    let rna = Modality::new(
        "rna",
        Likelihood::Nb,
        (0..genes).map(|j| format!("gene{j}")).collect(),
        Matrix::from_triplets(n, genes, gt).unwrap(),
    )
    .unwrap();
    let adt = Modality::new(
        "adt",
        Likelihood::Nb,
        (0..proteins).map(|j| format!("prot{j}")).collect(),
        Matrix::from_triplets(n, proteins, pt).unwrap(),
    )
    .unwrap();
    let data = Dataset::new(vec![rna, adt])
        .unwrap()
        .with_covariate(Covariate::from_labels("batch", &batch).unwrap())
        .unwrap();
    (data, labels)
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> f64 {
    // Knuth for small lambda, normal approximation above.
    if lambda > 30.0 {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        return (lambda + lambda.sqrt() * z).round().max(0.0);
    }
    let l = (-lambda).exp();
    let (mut k, mut p) = (0.0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1.0;
    }
}

/// A small, fast config.
pub fn small_config(epochs: usize) -> ModelConfig {
    let mut c = ModelConfig::from_json(
        r#"{"latent_dim": 8, "hidden": [32],
            "modalities": [{"name": "rna", "block_hidden": 32, "embed_dim": 8},
                           {"name": "adt", "block_hidden": 16, "embed_dim": 4}]}"#,
    )
    .unwrap();
    c.train.epochs = epochs;
    c.train.batch_size = 64;
    c.inference.n_draws = 5;
    c
}

/// The short real-data run of tests/real_data.rs (and tests/gpu.rs): a small
/// network with ADT-heavy weights and a constant learning rate, 20 epochs.
pub fn short_reap_config() -> ModelConfig {
    let mut cfg = ModelConfig::from_json(
        r#"{"latent_dim": 16, "hidden": [128],
            "modalities": [{"name": "rna", "block_hidden": 64, "embed_dim": 16, "weight": 0.1},
                           {"name": "adt", "block_hidden": 32, "embed_dim": 8, "weight": 0.9}],
            "train": {"lr_schedule": "constant"}}"#,
    )
    .unwrap();
    cfg.train.epochs = 20;
    cfg.train.batch_size = 256;
    cfg.inference.n_draws = 10;
    cfg
}

/// The accuracy floors of the short real-data run (far above chance: protein
/// Pearson ~0, kNN 0.36, ARI ~0).
pub fn assert_short_reap_floors(s: &scmosaic_eval::reap::ReapScores) {
    assert!(
        s.protein_pearson_mean > 0.30,
        "protein Pearson {}",
        s.protein_pearson_mean
    );
    assert!(
        s.cell_pearson_mean > 0.70,
        "cell Pearson {}",
        s.cell_pearson_mean
    );
    assert!(s.knn_accuracy > 0.60, "kNN accuracy {}", s.knn_accuracy);
    assert!(s.ari > 0.20, "ARI {}", s.ari);
}

/// `n` cells x `g` genes of Poisson-like counts whose means span four orders
/// of magnitude (gene `j`: `0.02 * 1.25^j` times a per-cell depth), as an
/// `rna` (NB) modality and the same counts as `atac` peaks (Bernoulli on
/// `count > 0`). Returns the dataset and the dense counts.
pub fn skewed_counts(n: usize, g: usize, seed: u64) -> (Dataset, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![0f32; n * g];
    for row in x.chunks_mut(g) {
        let depth = rng.random_range(0.5..2.0f64);
        for (j, v) in row.iter_mut().enumerate() {
            let lambda = 0.02 * 1.25f64.powi(j as i32) * depth;
            *v = poisson(&mut rng, lambda) as f32;
        }
    }
    let names = |p: &str| -> Vec<String> {
        (0..g)
            .map(|j| format!("{p}{j}:{}-{}", j * 100, j * 100 + 50))
            .collect()
    };
    let m = |name: &str, lik: Likelihood, feats: Vec<String>| {
        Modality::new(name, lik, feats, Matrix::dense(n, g, x.clone()).unwrap()).unwrap()
    };
    let d = Dataset::new(vec![
        m("rna", Likelihood::Nb, names("g")),
        m("atac", Likelihood::Bernoulli, names("chr1_")),
    ])
    .unwrap();
    (d, x)
}

/// Mean of each of the `g` columns of a row-major matrix.
pub fn column_means(v: &[f32], g: usize) -> Vec<f64> {
    let n = (v.len() / g).max(1);
    (0..g)
        .map(|j| v.iter().skip(j).step_by(g).map(|&x| x as f64).sum::<f64>() / n as f64)
        .collect()
}

/// Per gene of dense counts `[n, g]`: mean proportion of the cell's library
/// and fraction of cells with a non-zero count.
pub fn proportions_and_frequencies(x: &[f32], g: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / g).max(1) as f64;
    let (mut prop, mut freq) = (vec![0f64; g], vec![0f64; g]);
    for row in x.chunks(g) {
        let lib: f32 = row.iter().sum();
        for j in 0..g {
            prop[j] += (row[j] / lib.max(1.0)) as f64 / n;
            freq[j] += (row[j] > 0.0) as u8 as f64 / n;
        }
    }
    (prop, freq)
}
