//! A seeded synthetic trimodal mosaic (RNA + protein + chromatin) for the
//! `mosaic-trimodal v1` protocol (`benchmarks.md`) and for tests.
//!
//! Every cell has a type `t` and a low-rank state `u = c_t + 0.35 ε`
//! (`K = 8` factors, type centres `c_t ~ N(0, I)`); all three modalities are
//! driven by the same `u`, so each one is predictable from the others:
//!
//! - **rna** (NB, dispersion 4): `μ_cg = L_c · softmax_g(a_g + u_c·W_g) · b_dg`,
//!   with a per-cell library `L_c` (log-normal around 2000, sd 0.35 in log) and a
//!   gene-wise multiplicative batch factor `b_dg = exp(0.4 s ξ_dg)`
//!   (`s = batch_strength`, `ξ ~ N(0, 1)`).
//! - **adt** (NB, dispersion 10): the same form with 30 proteins, libraries
//!   around 3000, an ambient background of 15% spread evenly over the proteins
//!   and protein-wise batch factors.
//! - **atac** (Bernoulli): `P(open) = σ(a_p + u_c·U_p + δ_c + s(0.3 ξ_dp + 0.2 ζ_d))`,
//!   baseline `a_p ~ N(-2.3, 0.5)` (about 12% open), cell depth `δ_c ~ N(0, 0.3)`,
//!   a peak-wise and a global batch shift; peaks are named `chrK:start-end`
//!   over 5 chromosomes, ordered by chromosome, so
//!   [`Modality::with_chromosome_blocks`] applies.
//!
//! Three datasets of `n_cells_per_dataset` cells each are concatenated: `d0`
//! measures rna + adt + atac, `d1` rna + adt (atac unmeasured), `d2` rna + atac
//! (adt unmeasured). Unmeasured rows are stored empty (all zero) in the dataset,
//! so nothing can leak; the true values of every cell are returned separately
//! in [`SyntheticMosaic::truth_adt`] / [`SyntheticMosaic::truth_atac`] so the
//! held-out modalities can be scored. The covariate `dataset` (levels `d0`,
//! `d1`, `d2`) names each cell's dataset.
//!
//! Same spec (seed included) => identical output on every platform (ChaCha8).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};
use scmosaic::{Covariate, Dataset, Likelihood, Matrix, Modality, Result};

/// Number of latent factors shared by the modalities.
const RANK: usize = 8;
/// Number of chromosomes the peaks are spread over (fewer if there are fewer peaks).
const CHROMOSOMES: usize = 5;
/// Within-type spread of the cell state around its type centre.
const WITHIN_TYPE_SD: f64 = 0.35;

/// What to generate (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MosaicSpec {
    /// Cells in each of the three datasets.
    pub n_cells_per_dataset: usize,
    /// RNA features.
    pub n_genes: usize,
    /// Protein features.
    pub n_proteins: usize,
    /// ATAC peaks (named `chrK:start-end` over 5 chromosomes).
    pub n_peaks: usize,
    /// Number of cell types (uniform frequencies).
    pub n_types: usize,
    /// Scale of the per-dataset batch effects (0 = none, 1 = default).
    pub batch_strength: f64,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for MosaicSpec {
    fn default() -> Self {
        MosaicSpec {
            n_cells_per_dataset: 600,
            n_genes: 300,
            n_proteins: 30,
            n_peaks: 600,
            n_types: 5,
            batch_strength: 1.0,
            seed: 0,
        }
    }
}

/// A generated mosaic with its ground truth.
#[derive(Debug, Clone)]
pub struct SyntheticMosaic {
    /// All cells of the three datasets (modalities `rna`, `adt`, `atac`;
    /// covariate `dataset`), unmeasured modalities flagged and stored empty.
    pub data: Dataset,
    /// Cell type of each cell (`type0`, `type1`, ...).
    pub cell_type: Vec<String>,
    /// Dataset index of each cell (0, 1, 2).
    pub dataset: Vec<usize>,
    /// Protein counts of every cell, including those of dataset 2 (unmeasured
    /// in `data`), cells x proteins CSR.
    pub truth_adt: Matrix,
    /// Binary peaks of every cell, including those of dataset 1, cells x peaks CSR.
    pub truth_atac: Matrix,
}

impl SyntheticMosaic {
    /// Indices of the cells of dataset `d`.
    pub fn cells_of(&self, d: usize) -> Vec<usize> {
        (0..self.dataset.len())
            .filter(|&i| self.dataset[i] == d)
            .collect()
    }
}

/// Which modalities each of the three datasets measures: (adt, atac).
const PANELS: [(bool, bool); 3] = [(true, true), (true, false), (false, true)];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

fn normals(rng: &mut ChaCha8Rng, n: usize, sd: f64) -> Vec<f64> {
    (0..n).map(|_| sd * normal(rng)).collect()
}

/// A negative binomial draw with mean `mu` and inverse dispersion `theta`
/// (Gamma-Poisson mixture).
fn neg_binomial(rng: &mut ChaCha8Rng, mu: f64, theta: f64) -> f64 {
    if mu <= 0.0 {
        return 0.0;
    }
    let rate = Gamma::new(theta, mu / theta)
        .expect("positive shape and scale")
        .sample(rng);
    if rate <= 0.0 {
        return 0.0;
    }
    Poisson::new(rate).map_or(0.0, |p| p.sample(rng))
}

/// `softmax(logits) * total`.
fn scaled_softmax(logits: &[f64], total: f64) -> Vec<f64> {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|&l| (l - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v * total / s).collect()
}

fn dot(u: &[f64], w: &[f64]) -> f64 {
    u.iter().zip(w).map(|(a, b)| a * b).sum()
}

/// Feature loadings: `n` rows of `RANK` values, each factor used by a feature
/// with probability 1/2 (sparse, so features differ in which types they mark).
fn loadings(rng: &mut ChaCha8Rng, n: usize, sd: f64) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            (0..RANK)
                .map(|_| {
                    let v = sd * normal(rng);
                    if rng.random_bool(0.5) {
                        v
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Peak names `chrK:start-end`, contiguous per chromosome.
pub fn peak_names(n_peaks: usize) -> Vec<String> {
    let n_chrom = CHROMOSOMES.min(n_peaks).max(1);
    let per = n_peaks.div_ceil(n_chrom);
    (0..n_peaks)
        .map(|j| {
            let (c, k) = (j / per, j % per);
            let start = 100 + 1000 * k;
            format!("chr{}:{}-{}", c + 1, start, start + 500)
        })
        .collect()
}

/// Generates the mosaic described in the module docs.
pub fn mosaic_trimodal(spec: &MosaicSpec) -> Result<SyntheticMosaic> {
    let n_ds = PANELS.len();
    for (what, v) in [
        ("n_cells_per_dataset", spec.n_cells_per_dataset),
        ("n_genes", spec.n_genes),
        ("n_proteins", spec.n_proteins),
        ("n_peaks", spec.n_peaks),
        ("n_types", spec.n_types),
    ] {
        if v == 0 {
            return Err(crate::invalid_data(format!(
                "MosaicSpec::{what} must be positive"
            )));
        }
    }
    if !(spec.batch_strength.is_finite() && spec.batch_strength >= 0.0) {
        return Err(crate::invalid_data(format!(
            "MosaicSpec::batch_strength must be finite and >= 0, got {}",
            spec.batch_strength
        )));
    }
    let s = spec.batch_strength;
    let (ng, np, nk) = (spec.n_genes, spec.n_proteins, spec.n_peaks);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);

    // Shared structure: type centres and feature parameters.
    let centres: Vec<Vec<f64>> = (0..spec.n_types)
        .map(|_| normals(&mut rng, RANK, 1.0))
        .collect();
    let gene_base = normals(&mut rng, ng, 1.0);
    let gene_w = loadings(&mut rng, ng, 0.7);
    let prot_base = normals(&mut rng, np, 0.5);
    let prot_w = loadings(&mut rng, np, 0.7);
    let peak_base: Vec<f64> = normals(&mut rng, nk, 0.5)
        .into_iter()
        .map(|v| v - 2.3)
        .collect();
    let peak_w = loadings(&mut rng, nk, 0.9);
    // Batch effects, per dataset.
    let gene_batch: Vec<Vec<f64>> = (0..n_ds)
        .map(|_| {
            (0..ng)
                .map(|_| (0.4 * s * normal(&mut rng)).exp())
                .collect()
        })
        .collect();
    let prot_batch: Vec<Vec<f64>> = (0..n_ds)
        .map(|_| {
            (0..np)
                .map(|_| (0.4 * s * normal(&mut rng)).exp())
                .collect()
        })
        .collect();
    let peak_batch: Vec<Vec<f64>> = (0..n_ds)
        .map(|_| {
            let global = 0.2 * s * normal(&mut rng);
            (0..nk)
                .map(|_| global + 0.3 * s * normal(&mut rng))
                .collect()
        })
        .collect();
    let lib_batch: Vec<f64> = (0..n_ds)
        .map(|_| (0.2 * s * normal(&mut rng)).exp())
        .collect();

    let n = n_ds * spec.n_cells_per_dataset;
    let (mut rna_t, mut adt_t, mut atac_t) = (Vec::new(), Vec::new(), Vec::new());
    let (mut adt_obs, mut atac_obs) = (Vec::new(), Vec::new());
    let mut cell_type = Vec::with_capacity(n);
    let mut dataset = Vec::with_capacity(n);
    let mut adt_measured = Vec::with_capacity(n);
    let mut atac_measured = Vec::with_capacity(n);
    for c in 0..n {
        let d = c / spec.n_cells_per_dataset;
        let (has_adt, has_atac) = PANELS[d];
        let t = rng.random_range(0..spec.n_types);
        let u: Vec<f64> = centres[t]
            .iter()
            .map(|&m| m + WITHIN_TYPE_SD * normal(&mut rng))
            .collect();
        let row = c as u32;
        // RNA
        let lib = 2000.0 * lib_batch[d] * (0.35 * normal(&mut rng)).exp();
        let logits: Vec<f64> = (0..ng)
            .map(|g| gene_base[g] + dot(&u, &gene_w[g]))
            .collect();
        for (g, mu) in scaled_softmax(&logits, lib).into_iter().enumerate() {
            let v = neg_binomial(&mut rng, mu * gene_batch[d][g], 4.0);
            if v > 0.0 {
                rna_t.push((row, g as u32, v as f32));
            }
        }
        // Protein: signal plus 15% ambient background.
        let lib = 3000.0 * lib_batch[d] * (0.3 * normal(&mut rng)).exp();
        let logits: Vec<f64> = (0..np)
            .map(|p| prot_base[p] + dot(&u, &prot_w[p]))
            .collect();
        for (p, mu) in scaled_softmax(&logits, 0.85 * lib).into_iter().enumerate() {
            let mu = (mu + 0.15 * lib / np as f64) * prot_batch[d][p];
            let v = neg_binomial(&mut rng, mu, 10.0);
            if v > 0.0 {
                adt_t.push((row, p as u32, v as f32));
                if has_adt {
                    adt_obs.push((row, p as u32, v as f32));
                }
            }
        }
        // ATAC
        let depth = 0.3 * normal(&mut rng);
        for k in 0..nk {
            let logit = peak_base[k] + dot(&u, &peak_w[k]) + depth + peak_batch[d][k];
            let prob = 1.0 / (1.0 + (-logit).exp());
            if rng.random_bool(prob.clamp(0.0, 1.0)) {
                atac_t.push((row, k as u32, 1.0));
                if has_atac {
                    atac_obs.push((row, k as u32, 1.0));
                }
            }
        }
        cell_type.push(format!("type{t}"));
        dataset.push(d);
        adt_measured.push(has_adt);
        atac_measured.push(has_atac);
    }

    let genes: Vec<String> = (0..ng).map(|g| format!("gene{g}")).collect();
    let proteins: Vec<String> = (0..np).map(|p| format!("prot{p}")).collect();
    let peaks = peak_names(nk);
    let rna = Modality::new(
        "rna",
        Likelihood::Nb,
        genes,
        Matrix::from_triplets(n, ng, rna_t)?,
    )?;
    let adt = Modality::new(
        "adt",
        Likelihood::Nb,
        proteins,
        Matrix::from_triplets(n, np, adt_obs)?,
    )?
    .with_measured(adt_measured)?;
    let atac = Modality::new(
        "atac",
        Likelihood::Bernoulli,
        peaks,
        Matrix::from_triplets(n, nk, atac_obs)?,
    )?
    .with_chromosome_blocks()?
    .with_measured(atac_measured)?;
    let labels: Vec<String> = dataset.iter().map(|d| format!("d{d}")).collect();
    let names: Vec<String> = (0..n)
        .map(|c| format!("d{}_cell{}", dataset[c], c % spec.n_cells_per_dataset))
        .collect();
    let data = Dataset::new(vec![rna, adt, atac])?
        .with_covariate(Covariate::from_labels("dataset", &labels)?)?
        .with_cell_names(names)?;
    Ok(SyntheticMosaic {
        data,
        cell_type,
        dataset,
        truth_adt: Matrix::from_triplets(n, np, adt_t)?,
        truth_atac: Matrix::from_triplets(n, nk, atac_t)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> MosaicSpec {
        MosaicSpec {
            n_cells_per_dataset: 60,
            n_genes: 80,
            n_proteins: 12,
            n_peaks: 100,
            n_types: 4,
            batch_strength: 1.0,
            seed: 7,
        }
    }

    fn dense_rows(m: &Matrix) -> Vec<Vec<f64>> {
        (0..m.n_rows())
            .map(|r| {
                let mut v = vec![0.0; m.n_cols()];
                for (j, x) in m.row(r) {
                    v[j] = x as f64;
                }
                v
            })
            .collect()
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = mosaic_trimodal(&small()).unwrap();
        let b = mosaic_trimodal(&small()).unwrap();
        for m in ["rna", "adt", "atac"] {
            assert_eq!(
                a.data.modality(m).unwrap().data(),
                b.data.modality(m).unwrap().data()
            );
        }
        assert_eq!(a.truth_adt, b.truth_adt);
        assert_eq!(a.truth_atac, b.truth_atac);
        assert_eq!(a.cell_type, b.cell_type);
        let c = mosaic_trimodal(&MosaicSpec { seed: 8, ..small() }).unwrap();
        assert_ne!(
            a.data.modality("rna").unwrap().data(),
            c.data.modality("rna").unwrap().data()
        );
    }

    #[test]
    fn shapes_flags_and_names() {
        let spec = small();
        let m = mosaic_trimodal(&spec).unwrap();
        let n = 3 * spec.n_cells_per_dataset;
        assert_eq!(m.data.n_cells(), n);
        assert_eq!(m.cell_type.len(), n);
        assert_eq!(m.dataset, (0..n).map(|c| c / 60).collect::<Vec<_>>());
        let rna = m.data.modality("rna").unwrap();
        let adt = m.data.modality("adt").unwrap();
        let atac = m.data.modality("atac").unwrap();
        assert_eq!(
            (rna.data().n_cols(), rna.likelihood()),
            (80, Likelihood::Nb)
        );
        assert_eq!(
            (adt.data().n_cols(), adt.likelihood()),
            (12, Likelihood::Nb)
        );
        assert_eq!(
            (atac.data().n_cols(), atac.likelihood()),
            (100, Likelihood::Bernoulli)
        );
        assert!(matches!(rna.data(), Matrix::Csr { .. }));
        assert_eq!(atac.blocks().len(), 5);
        assert_eq!(atac.features()[0], "chr1:100-600");
        assert!(atac.features()[99].starts_with("chr5:"));
        assert_eq!((m.truth_adt.n_rows(), m.truth_adt.n_cols()), (n, 12));
        assert_eq!((m.truth_atac.n_rows(), m.truth_atac.n_cols()), (n, 100));
        assert!(m.truth_atac.stored_values().iter().all(|&v| v == 1.0));
        for c in 0..n {
            let d = m.dataset[c];
            assert!(rna.measured()[c]);
            assert_eq!(adt.measured()[c], d != 2);
            assert_eq!(atac.measured()[c], d != 1);
            // unmeasured rows are empty, measured rows equal the truth
            let adt_row: Vec<_> = adt.data().row(c).collect();
            let truth: Vec<_> = m.truth_adt.row(c).collect();
            assert_eq!(adt_row, if d == 2 { vec![] } else { truth });
            let atac_row: Vec<_> = atac.data().row(c).collect();
            let truth: Vec<_> = m.truth_atac.row(c).collect();
            assert_eq!(atac_row, if d == 1 { vec![] } else { truth });
            assert!(rna.data().row(c).count() > 0);
        }
        let cov = &m.data.covariates()[0];
        assert_eq!(cov.name, "dataset");
        assert_eq!(cov.levels, vec!["d0", "d1", "d2"]);
        assert_eq!(m.cells_of(1), (60..120).collect::<Vec<_>>());
        // ATAC sparsity in a realistic range
        let density = m.truth_atac.nnz() as f64 / (n * 100) as f64;
        assert!((0.03..0.4).contains(&density), "{density}");
        assert!(mosaic_trimodal(&MosaicSpec {
            n_types: 0,
            ..small()
        })
        .is_err());
    }

    #[test]
    fn cell_types_are_recoverable() {
        let m = mosaic_trimodal(&small()).unwrap();
        let check = |x: &Matrix, what: &str| {
            // log-normalized profiles, then mean within- vs between-type correlation
            let rows: Vec<Vec<f64>> = dense_rows(x)
                .into_iter()
                .map(|r| {
                    let s: f64 = r.iter().sum::<f64>().max(1.0);
                    r.iter().map(|v| (1e4 * v / s).ln_1p()).collect()
                })
                .collect();
            let (mut within, mut nw, mut between, mut nb) = (0.0, 0, 0.0, 0);
            for i in 0..rows.len() {
                for j in (i + 1)..rows.len() {
                    let r = crate::metrics::pearson(&rows[i], &rows[j]);
                    if m.cell_type[i] == m.cell_type[j] {
                        within += r;
                        nw += 1;
                    } else {
                        between += r;
                        nb += 1;
                    }
                }
            }
            let (w, b) = (within / nw as f64, between / nb as f64);
            assert!(w > b + 0.05, "{what}: within {w:.3} vs between {b:.3}");
        };
        check(m.data.modality("rna").unwrap().data(), "rna");
        check(&m.truth_adt, "adt");
        check(&m.truth_atac, "atac");
    }
}
