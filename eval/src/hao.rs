//! The `hao-mosaic v1` protocol (`benchmarks.md`): a real RNA + protein mosaic
//! of 1,600 PBMCs from four donors (Hao et al. 2021, as subset by the MIDAS
//! authors; `data/hao_pbmc_mosaic`): `p1_0` RNA only, `p2_0` protein only,
//! `p3_0` and `p4_0` both. 500 genes and 224 proteins, raw counts, all input;
//! the donor is the batch covariate; a cell's unmeasured modality is missing
//! (its row is emptied and flagged unmeasured, never given as zeros).
//!
//! - **RNA -> protein**: a model trained on the mosaic with `p4_0`'s protein
//!   hidden imputes `p4_0`'s protein from its RNA ([`ImputeScale::Counts`]);
//!   scored as reap-impute v1 ([`ProteinScores`]: each cell rescaled to the
//!   median protein library of the training cells with protein, per-cell CLR,
//!   per-protein Pearson and Spearman across the `p4_0` cells, RMSE, per-cell
//!   Pearson), and the coverage of `p4_0`'s observed protein by central 80%
//!   and 95% posterior-predictive intervals on the per-cell CLR scale
//!   ([`coverage::predictive_clr_coverage`], [`coverage::PP_DRAWS`] draws).
//! - **protein -> RNA**: a second model, trained with `p4_0`'s RNA hidden
//!   instead, imputes `p4_0`'s RNA from its protein; per-gene Pearson (and
//!   Spearman) of `log1p` counts per 10,000 across the `p4_0` cells, over the
//!   genes detected in at least 5% of them.
//! - **Integration** (the first model): the latent of all cells, each from
//!   what it has (`p4_0` from RNA). kNN (k = 15) label transfer of
//!   `cell_type` from `p3_0` to each of `p1_0`, `p2_0` and `p4_0`; ARI of an
//!   8-cluster partition ([`cluster::cluster_to_k`]) against `cell_type`
//!   over all cells; donor mixing: kNN (k = 15) donor entropy, scIB batch ASW
//!   over donors within types, and per donor the share of its cells'
//!   neighbours from the same donor ([`gap::label_mixing`]); the modality
//!   gap over modality sets ([`gap::modality_gap`]).
//! - **Baselines** ([`baseline_scores`], model `pca-knn`): kNN regression
//!   (k = 15) from `p3_0` to `p4_0` in an RNA PCA space (protein, averaging
//!   the neighbours' protein counts rescaled to the median library) and in a
//!   protein PCA space (RNA, averaging the neighbours' counts per 10,000);
//!   label transfer from `p3_0` in the RNA space (to `p1_0` and `p4_0`) and
//!   in the protein space (to `p2_0`). 30 components of the normalized,
//!   scaled data ([`crate::baseline`]); the RNA space is fitted on the cells
//!   with RNA of the first task (`p1_0`, `p3_0`, `p4_0`), the protein space on
//!   the cells with protein of the second (`p2_0`, `p3_0`, `p4_0`).

use crate::baseline::{knn_regress, log_normalize, scale, Pca};
use crate::cluster;
use crate::coverage::{self, IntervalCoverage};
use crate::gap::{self, modality_sets, LabelMixing};
use crate::metrics::{self, adjusted_rand_index, knn_accuracy, mean_median, pearson, spearman};
use crate::mosaic::RunOptions;
use crate::reap::ProteinScores;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use scmosaic::{
    read_10x_folder, Covariate, Dataset, EpochLog, ImputeRequest, ImputeScale, Likelihood, Matrix,
    Modality, Model, ModelConfig, Result,
};
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

/// Neighbours of label transfer, kNN regression, clustering and mixing.
pub const K: usize = 15;
/// The paired donor whose modalities are hidden in turn.
pub const HELD_OUT: &str = "p4_0";
/// The paired donor labels are transferred from.
pub const REFERENCE: &str = "p3_0";
/// The RNA-only donor.
pub const RNA_ONLY: &str = "p1_0";
/// The protein-only donor.
pub const PROTEIN_ONLY: &str = "p2_0";
/// Clusters of the ARI partition.
pub const N_CLUSTERS: usize = 8;
/// Principal components of the baselines.
pub const N_COMPONENTS: usize = 30;
/// Genes scored for protein -> RNA: detected in at least this share of the held-out cells.
pub const MIN_DETECTION: f64 = 0.05;

/// The folder's cells, counts and labels.
#[derive(Debug, Clone)]
pub struct HaoData {
    /// Cell barcodes.
    pub barcodes: Vec<String>,
    /// Donor of each cell.
    pub donor: Vec<String>,
    /// Level-1 cell type of each cell.
    pub cell_type: Vec<String>,
    /// Whether each cell's RNA was measured.
    pub has_rna: Vec<bool>,
    /// Whether each cell's protein was measured.
    pub has_adt: Vec<bool>,
    /// Gene names.
    pub genes: Vec<String>,
    /// Protein names.
    pub proteins: Vec<String>,
    /// RNA counts, cells x genes (empty rows where unmeasured).
    pub rna: Matrix,
    /// Protein counts, cells x proteins (empty rows where unmeasured).
    pub adt: Matrix,
}

/// Which modality of [`HELD_OUT`] a task hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hide {
    /// RNA -> protein (the first model; its latent is the integration's).
    Protein,
    /// protein -> RNA (the second model).
    Rna,
}

fn flag(v: &str, column: &str, row: usize) -> Result<bool> {
    match v {
        "1" | "true" | "True" | "TRUE" => Ok(true),
        "0" | "false" | "False" | "FALSE" => Ok(false),
        other => Err(crate::invalid_data(format!(
            "cells.tsv: {column} of row {} is '{other}' (expected 0 or 1)",
            row + 1
        ))),
    }
}

/// An empty copy of the rows of `m` where `drop` is set.
fn empty_rows(m: &Matrix, drop: &[bool]) -> Result<Matrix> {
    let mut t = Vec::with_capacity(m.nnz());
    for (r, &d) in drop.iter().enumerate() {
        if !d {
            t.extend(m.row(r).map(|(j, v)| (r as u32, j as u32, v)));
        }
    }
    Matrix::from_triplets(m.n_rows(), m.n_cols(), t)
}

impl HaoData {
    /// Reads the folder (`rna.mtx.gz`, `adt.mtx.gz`, their feature lists,
    /// `barcodes.tsv`, `cells.tsv` with `donor`, `cell_type`, `has_rna`,
    /// `has_adt`); the rows of unmeasured modalities are emptied.
    pub fn load(dir: &Path) -> Result<HaoData> {
        let f = read_10x_folder(dir)?;
        let (genes, rna) = f.modality("rna")?;
        let (proteins, adt) = f.modality("adt")?;
        let col = |name: &str| f.cell_column(name).map(|c| c.to_vec());
        let bools = |name: &str| -> Result<Vec<bool>> {
            f.cell_column(name)?
                .iter()
                .enumerate()
                .map(|(r, v)| flag(v, name, r))
                .collect()
        };
        let has_rna = bools("has_rna")?;
        let has_adt = bools("has_adt")?;
        let not = |v: &[bool]| v.iter().map(|b| !b).collect::<Vec<_>>();
        let data = HaoData {
            barcodes: f.barcodes.clone(),
            donor: col("donor")?,
            cell_type: col("cell_type")?,
            rna: empty_rows(rna, &not(&has_rna))?,
            adt: empty_rows(adt, &not(&has_adt))?,
            has_rna,
            has_adt,
            genes: genes.to_vec(),
            proteins: proteins.to_vec(),
        };
        for d in [HELD_OUT, REFERENCE, RNA_ONLY, PROTEIN_ONLY] {
            if data.cells_of(d).is_empty() {
                return Err(crate::invalid_data(format!(
                    "{}: no cell of donor '{d}'",
                    dir.display()
                )));
            }
        }
        let paired = |d: &str| {
            data.cells_of(d)
                .iter()
                .all(|&c| data.has_rna[c] && data.has_adt[c])
        };
        if !paired(HELD_OUT) || !paired(REFERENCE) {
            return Err(crate::invalid_data(format!(
                "{}: donors {REFERENCE} and {HELD_OUT} must have RNA and protein for every cell",
                dir.display()
            )));
        }
        Ok(data)
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.barcodes.len()
    }

    /// The cells of donor `donor`, in file order.
    pub fn cells_of(&self, donor: &str) -> Vec<usize> {
        (0..self.n_cells())
            .filter(|&c| self.donor[c] == donor)
            .collect()
    }

    /// A seeded random subset of at most `per_donor` cells of each donor (in
    /// file order), for quick runs.
    pub fn subsample(&self, per_donor: usize, seed: u64) -> Result<HaoData> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut donors = self.donor.clone();
        donors.sort();
        donors.dedup();
        let mut keep = Vec::new();
        for d in &donors {
            let mut cells = self.cells_of(d);
            cells.shuffle(&mut rng);
            cells.truncate(per_donor);
            keep.extend(cells);
        }
        keep.sort_unstable();
        let pick = |v: &[String]| keep.iter().map(|&c| v[c].clone()).collect::<Vec<_>>();
        Ok(HaoData {
            barcodes: pick(&self.barcodes),
            donor: pick(&self.donor),
            cell_type: pick(&self.cell_type),
            has_rna: keep.iter().map(|&c| self.has_rna[c]).collect(),
            has_adt: keep.iter().map(|&c| self.has_adt[c]).collect(),
            genes: self.genes.clone(),
            proteins: self.proteins.clone(),
            rna: self.rna.select_rows(&keep),
            adt: self.adt.select_rows(&keep),
        })
    }

    /// Measured flags of a task: `has` with the [`HELD_OUT`] cells cleared.
    fn task_flags(&self, has: &[bool]) -> Vec<bool> {
        has.iter()
            .zip(&self.donor)
            .map(|(&h, d)| h && d != HELD_OUT)
            .collect()
    }

    /// The mosaic of a task: `rna` and `adt` (negative binomial, raw
    /// counts), the donor covariate, and the hidden modality of
    /// [`HELD_OUT`] emptied and flagged unmeasured.
    pub fn mosaic(&self, hide: Hide) -> Result<Dataset> {
        let (rna_m, adt_m) = match hide {
            Hide::Protein => (self.has_rna.clone(), self.task_flags(&self.has_adt)),
            Hide::Rna => (self.task_flags(&self.has_rna), self.has_adt.clone()),
        };
        let modality = |name: &str, features: &[String], m: &Matrix, measured: Vec<bool>| {
            let unmeasured: Vec<bool> = measured.iter().map(|b| !b).collect();
            Modality::new(
                name,
                Likelihood::Nb,
                features.to_vec(),
                empty_rows(m, &unmeasured)?,
            )?
            .with_measured(measured)
        };
        Dataset::new(vec![
            modality("rna", &self.genes, &self.rna, rna_m)?,
            modality("adt", &self.proteins, &self.adt, adt_m)?,
        ])?
        .with_covariate(Covariate::from_labels("donor", &self.donor)?)?
        .with_cell_names(self.barcodes.clone())
    }

    /// Dense `[cells, features]` counts of `m` for the given cells.
    fn dense(m: &Matrix, cells: &[usize]) -> Vec<f64> {
        let p = m.n_cols();
        let mut out = vec![0.0; cells.len() * p];
        for (i, &c) in cells.iter().enumerate() {
            for (j, v) in m.row(c) {
                out[i * p + j] = v as f64;
            }
        }
        out
    }

    /// Median protein library of the cells whose protein the first task shows.
    fn protein_library_median(&self) -> f64 {
        let shown = self.task_flags(&self.has_adt);
        let libs: Vec<f64> = self
            .adt
            .row_sums()
            .into_iter()
            .zip(shown)
            .filter(|(_, s)| *s)
            .map(|(l, _)| l)
            .collect();
        mean_median(&libs).1
    }

    fn labels(&self, cells: &[usize]) -> Vec<String> {
        cells.iter().map(|&c| self.cell_type[c].clone()).collect()
    }
}

/// Per-gene scores of imputed RNA against the observed counts of the same cells.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RnaScores {
    /// Mean over the scored genes of the Pearson correlation across cells
    /// (`log1p` counts per 10,000).
    pub pearson_mean: f64,
    /// Median over the scored genes of the Pearson correlation.
    pub pearson_median: f64,
    /// Mean over the scored genes of the Spearman correlation.
    pub spearman_mean: f64,
    /// Genes scored (detected in at least [`MIN_DETECTION`] of the cells).
    pub genes_scored: usize,
}

impl RnaScores {
    /// Scores predicted RNA `pred` (any per-cell scale) against observed
    /// counts `obs` (both `[n, g]`): both as `log1p` counts per 10,000, per
    /// gene across cells, over the genes detected in at least
    /// [`MIN_DETECTION`] of the cells.
    pub fn score(obs: &[f64], pred: &[f64], g: usize) -> RnaScores {
        let n = obs.len() / g.max(1);
        let genes: Vec<usize> = (0..g)
            .filter(|&j| {
                let detected = (0..n).filter(|&i| obs[i * g + j] > 0.0).count();
                detected as f64 >= MIN_DETECTION * n as f64
            })
            .collect();
        let lo = log_normalize(obs, g);
        let lp = log_normalize(pred, g);
        let col = |m: &[f64], j: usize| (0..n).map(|i| m[i * g + j]).collect::<Vec<f64>>();
        let per_p: Vec<f64> = genes
            .iter()
            .map(|&j| pearson(&col(&lo, j), &col(&lp, j)))
            .collect();
        let per_s: Vec<f64> = genes
            .iter()
            .map(|&j| spearman(&col(&lo, j), &col(&lp, j)))
            .collect();
        let (pearson_mean, pearson_median) = mean_median(&per_p);
        RnaScores {
            pearson_mean,
            pearson_median,
            spearman_mean: mean_median(&per_s).0,
            genes_scored: genes.len(),
        }
    }
}

/// Scores and costs of one run of `hao-mosaic v1` (a model's, or the baselines').
#[derive(Debug, Clone, Default, Serialize)]
pub struct HaoScores {
    /// Protocol name (`hao-mosaic v1`).
    pub protocol: String,
    /// `scvaeit`, `multigrate` or `pca-knn` (the baselines).
    pub model: String,
    /// Cells in the mosaic.
    pub n_cells: usize,
    /// Epochs trained by the RNA -> protein model (0 for the baselines).
    pub epochs: usize,
    /// Epochs trained by the protein -> RNA model.
    pub epochs_protein_to_rna: usize,
    /// Training seed.
    pub seed: u64,
    /// RNA -> protein for the held-out donor.
    pub protein: ProteinScores,
    /// Coverage of the held-out donor's observed protein by the RNA ->
    /// protein model's central 80% / 95% posterior-predictive intervals
    /// (per-cell CLR; `None` for the baselines).
    pub protein_coverage: Option<IntervalCoverage>,
    /// protein -> RNA for the held-out donor.
    pub rna: RnaScores,
    /// kNN label transfer accuracy from `p3_0` to `p1_0` (RNA only).
    pub transfer_p1: f64,
    /// ... to `p2_0` (protein only).
    pub transfer_p2: f64,
    /// ... to `p4_0` (RNA only in the first task).
    pub transfer_p4: f64,
    /// ARI of an 8-cluster partition of all cells against `cell_type` (NaN for the baselines).
    pub ari: f64,
    /// kNN donor entropy, normalized (1 = perfect mixing; NaN for the baselines).
    pub donor_entropy: f64,
    /// scIB batch ASW over donors within types (1 = perfect mixing; NaN for the baselines).
    pub donor_asw: f64,
    /// Per donor, the share of its cells' neighbours from the same donor.
    pub donor_mixing: Option<LabelMixing>,
    /// The modality gap over modality sets (`rna`, `adt`, `rna+adt`).
    pub modality_gap: Option<LabelMixing>,
    /// Timings, memory, size and device of the first model (its training
    /// time is that of both models).
    #[serde(flatten)]
    pub cost: crate::RunCost,
}

impl HaoScores {
    /// One JSON object (NaN becomes `null`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("scores serialize")
    }
}

/// Label transfer from the reference donor to `donor` in the embedding `z`
/// (`[n_cells, dim]`, all cells).
fn transfer(data: &HaoData, z: &[f32], dim: usize, reference: &[usize], donor: &str) -> f64 {
    let rows = |cells: &[usize]| -> Vec<f32> {
        cells
            .iter()
            .flat_map(|&c| z[c * dim..(c + 1) * dim].iter().copied())
            .collect()
    };
    let query = data.cells_of(donor);
    knn_accuracy(
        &rows(reference),
        &data.labels(reference),
        &rows(&query),
        &data.labels(&query),
        dim,
        K,
    )
}

/// Trains both models of `cfg` (the RNA -> protein one first) and scores them.
pub fn run(
    cfg: &ModelConfig,
    data: &HaoData,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&EpochLog) -> ControlFlow<()>,
) -> Result<HaoScores> {
    let first = data.mosaic(Hide::Protein)?;
    let (model, seconds_a, epochs_a) = crate::train_timed(cfg, &first, opts, progress)?;
    let second = data.mosaic(Hide::Rna)?;
    let (model_b, seconds_b, epochs_b) = crate::train_timed(cfg, &second, opts, progress)?;
    let mut s = evaluate(&model, &model_b, data, opts.n_draws)?;
    s.cost
        .trained(seconds_a + seconds_b, epochs_a + epochs_b, opts.threads);
    Ok(s)
}

/// Scores `model` (trained on `data.mosaic(Hide::Protein)`) and `model_rna`
/// (trained on `data.mosaic(Hide::Rna)`); training timings left at 0.
pub fn evaluate(
    model: &Model,
    model_rna: &Model,
    data: &HaoData,
    n_draws: Option<usize>,
) -> Result<HaoScores> {
    let held = data.cells_of(HELD_OUT);
    let reference = data.cells_of(REFERENCE);
    let first = data.mosaic(Hide::Protein)?;
    let second = data.mosaic(Hide::Rna)?;
    // RNA -> protein
    let t0 = Instant::now();
    let mut req = ImputeRequest::new("adt");
    req.features = Some(data.proteins.clone());
    req.scale = ImputeScale::Counts;
    req.n_draws = n_draws;
    let held_first = first.select_cells(&held)?;
    let adt = model.impute(&held_first, &req)?;
    let held_adt = HaoData::dense(&data.adt, &held);
    // protein -> RNA
    let mut req = ImputeRequest::new("rna");
    req.features = Some(data.genes.clone());
    req.scale = ImputeScale::Counts;
    req.n_draws = n_draws;
    let rna = model_rna.impute(&second.select_cells(&held)?, &req)?;
    let impute_seconds = t0.elapsed().as_secs_f64();
    // Calibration of the RNA -> protein intervals (not in impute_seconds).
    let protein_coverage = coverage::predictive_clr_coverage(
        model,
        &held_first,
        "adt",
        &data.proteins,
        &held_adt,
        coverage::PP_DRAWS,
    )?;
    let to_f64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let protein = ProteinScores::score(
        &held_adt,
        &to_f64(&adt.mean),
        data.proteins.len(),
        data.protein_library_median(),
    );
    let rna = RnaScores::score(
        &HaoData::dense(&data.rna, &held),
        &to_f64(&rna.mean),
        data.genes.len(),
    );
    // Integration: the first model's latent of all cells.
    let t1 = Instant::now();
    let z = model.embed(&first)?;
    let embed_seconds = t1.elapsed().as_secs_f64();
    let dim = z.dim;
    let types = metrics::label_codes(&data.cell_type);
    let donors = metrics::label_codes(&data.donor);
    let clusters = cluster::cluster_to_k(&z.values, dim, N_CLUSTERS, K, 0);
    Ok(HaoScores {
        protocol: "hao-mosaic v1".into(),
        model: model.config().model.as_str().into(),
        n_cells: data.n_cells(),
        epochs: model.epochs_trained(),
        epochs_protein_to_rna: model_rna.epochs_trained(),
        seed: model.config().train.seed,
        protein,
        protein_coverage: Some(protein_coverage),
        rna,
        transfer_p1: transfer(data, &z.values, dim, &reference, RNA_ONLY),
        transfer_p2: transfer(data, &z.values, dim, &reference, PROTEIN_ONLY),
        transfer_p4: transfer(data, &z.values, dim, &reference, HELD_OUT),
        ari: adjusted_rand_index(&clusters, &types),
        donor_entropy: metrics::knn_batch_entropy(&z.values, dim, &donors, K),
        donor_asw: metrics::batch_asw(&z.values, dim, &donors, &types),
        donor_mixing: Some(gap::label_mixing(
            &z.values,
            dim,
            &data.donor,
            &data.cell_type,
            K,
        )),
        modality_gap: Some(gap::modality_gap(
            &z.values,
            dim,
            &modality_sets(&first),
            &data.cell_type,
            K,
        )),
        cost: crate::RunCost::of(model, impute_seconds, embed_seconds),
    })
}

/// PCA scores (`[cells, N_COMPONENTS]`) of the normalized, scaled `x`
/// (`[cells, p]`), fitted on those cells.
fn pca_space(x: &[f64], p: usize) -> Vec<f32> {
    let scaled = scale(x, p, 10.0);
    Pca::fit(&scaled, p, N_COMPONENTS).transform(&scaled)
}

/// The rows of `space` (`[cells.len(), d]`, in the order of `cells`) of the
/// cells `pick` (a subset of `cells`).
fn rows_of(space: &[f32], d: usize, cells: &[usize], pick: &[usize]) -> Vec<f32> {
    let pos: std::collections::HashMap<usize, usize> =
        cells.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    pick.iter()
        .flat_map(|c| {
            let i = pos[c];
            space[i * d..(i + 1) * d].iter().copied()
        })
        .collect()
}

/// The model-free baselines of the protocol (see the module docs).
pub fn baseline_scores(data: &HaoData) -> Result<HaoScores> {
    let held = data.cells_of(HELD_OUT);
    let reference = data.cells_of(REFERENCE);
    let (g, p) = (data.genes.len(), data.proteins.len());
    let d = N_COMPONENTS;
    let t0 = Instant::now();
    // RNA space: the cells with RNA in the first task.
    let rna_cells: Vec<usize> = (0..data.n_cells()).filter(|&c| data.has_rna[c]).collect();
    let rna_space = pca_space(&log_normalize(&HaoData::dense(&data.rna, &rna_cells), g), g);
    // Protein space: the cells with protein in the second task.
    let adt_cells: Vec<usize> = (0..data.n_cells()).filter(|&c| data.has_adt[c]).collect();
    let adt_space = pca_space(&metrics::clr(&HaoData::dense(&data.adt, &adt_cells), p), p);
    // Protein of p4 from the p3 cells nearest in RNA space.
    let library = data.protein_library_median();
    let mut ref_adt = HaoData::dense(&data.adt, &reference);
    for row in ref_adt.chunks_mut(p) {
        let s: f64 = row.iter().sum();
        if s > 0.0 {
            row.iter_mut().for_each(|v| *v *= library / s);
        }
    }
    let pred_adt = knn_regress(
        &rows_of(&rna_space, d, &rna_cells, &reference),
        &ref_adt,
        p,
        &rows_of(&rna_space, d, &rna_cells, &held),
        d,
        K,
    );
    let protein = ProteinScores::score(&HaoData::dense(&data.adt, &held), &pred_adt, p, library);
    // RNA of p4 from the p3 cells nearest in protein space (counts per 10k).
    let ref_rna: Vec<f64> = HaoData::dense(&data.rna, &reference)
        .chunks(g)
        .flat_map(|row| {
            let s: f64 = row.iter().sum();
            let f = if s > 0.0 { 1e4 / s } else { 0.0 };
            row.iter().map(move |v| v * f).collect::<Vec<f64>>()
        })
        .collect();
    let pred_rna = knn_regress(
        &rows_of(&adt_space, d, &adt_cells, &reference),
        &ref_rna,
        g,
        &rows_of(&adt_space, d, &adt_cells, &held),
        d,
        K,
    );
    let rna = RnaScores::score(&HaoData::dense(&data.rna, &held), &pred_rna, g);
    // Label transfer from p3 in each space.
    let transfer_in = |space: &[f32], cells: &[usize], donor: &str| {
        let query = data.cells_of(donor);
        knn_accuracy(
            &rows_of(space, d, cells, &reference),
            &data.labels(&reference),
            &rows_of(space, d, cells, &query),
            &data.labels(&query),
            d,
            K,
        )
    };
    Ok(HaoScores {
        protocol: "hao-mosaic v1".into(),
        model: "pca-knn".into(),
        n_cells: data.n_cells(),
        epochs: 0,
        epochs_protein_to_rna: 0,
        seed: 0,
        protein,
        protein_coverage: None,
        rna,
        transfer_p1: transfer_in(&rna_space, &rna_cells, RNA_ONLY),
        transfer_p2: transfer_in(&adt_space, &adt_cells, PROTEIN_ONLY),
        transfer_p4: transfer_in(&rna_space, &rna_cells, HELD_OUT),
        ari: f64::NAN,
        donor_entropy: f64::NAN,
        donor_asw: f64::NAN,
        donor_mixing: None,
        modality_gap: None,
        cost: crate::RunCost {
            impute_seconds: t0.elapsed().as_secs_f64(),
            peak_rss_mib: crate::peak_rss_mib(),
            device: "cpu".into(),
            ..Default::default()
        },
    })
}
