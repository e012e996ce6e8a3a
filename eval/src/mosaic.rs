//! The `mosaic-trimodal v1` protocol (`benchmarks.md`) on the synthetic
//! trimodal mosaic of [`crate::synthetic`]: integration with missing
//! modalities.
//!
//! A fresh model (any kind chosen through the [`ModelConfig`]) is trained on
//! all cells of the mosaic: `d0` with RNA + ADT + ATAC, `d1` with RNA + ADT,
//! `d2` with RNA + ATAC, conditioned on the covariate `dataset` unless the
//! config says otherwise. Then:
//!
//! - **Protein** (held out in `d2`): impute ADT for the `d2` cells
//!   ([`ImputeScale::Counts`]), per-cell CLR of imputed and true counts
//!   ([`metrics::clr`]), Pearson and Spearman per protein across the `d2`
//!   cells; mean and median over proteins.
//! - **Chromatin** (held out in `d1`): impute ATAC probabilities for the `d1`
//!   cells; per cell, AUROC and average precision of the probabilities against
//!   the true binary peaks; mean over cells. A model-free baseline scores each
//!   peak by its frequency among the cells where ATAC was measured: per-cell
//!   AUROC well above 0.5 comes from peak base rates alone, so compare with it.
//! - **Embedding** (`Model::embed`, all cells, each from what it measured):
//!   kNN (k = 15) label transfer with dataset `d0` (the complete panel) as the
//!   reference and `d1` + `d2` as queries: a cross-dataset, cross-panel
//!   transfer, which rewards both biological conservation and integration;
//!   ARI of [`cluster::cluster_to_k`] (k = 15 graph, as many clusters as
//!   types) against the cell types; batch mixing over `dataset`: the kNN
//!   (k = 15) batch entropy, normalized to `[0, 1]`
//!   ([`metrics::knn_batch_entropy`]), and scIB's batch ASW ([`metrics::batch_asw`]).

use super::metrics::{self, clr, knn_accuracy, mean_median};
use crate::synthetic::{mosaic_trimodal, MosaicSpec, SyntheticMosaic};
use scmosaic::{EpochLog, Error, ImputeRequest, ImputeScale, Matrix, Model, ModelConfig, Result};
use serde::Serialize;
use std::ops::ControlFlow;
use std::time::Instant;

/// Neighbours of the kNN classifier, the clustering graph and the batch entropy.
pub const K: usize = 15;

/// How to run a protocol (shared by [`run`] and [`super::snare::run`]).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Kernel worker threads (0 = the machine's default).
    pub threads: usize,
    /// Device (`"cpu"`, `"cuda:0"`, ...; see `Model::set_device`).
    pub device: String,
    /// Posterior draws averaged by imputation (`None` = the config's).
    pub n_draws: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 0,
            device: "cpu".into(),
            n_draws: None,
        }
    }
}

/// Scores and costs of one run of `mosaic-trimodal v1`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MosaicScores {
    /// Protocol name (`mosaic-trimodal v1`).
    pub protocol: String,
    /// Model kind (`scvaeit`, ...).
    pub model: String,
    /// Cells in total (three datasets).
    pub n_cells: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Training seed.
    pub seed: u64,
    /// Seed of the synthetic data.
    pub data_seed: u64,
    /// Mean over proteins of the Pearson correlation (CLR, `d2` cells).
    pub protein_pearson_mean: f64,
    /// Median over proteins of the Pearson correlation.
    pub protein_pearson_median: f64,
    /// Mean over proteins of the Spearman correlation.
    pub protein_spearman_mean: f64,
    /// Imputed ATAC and integration (ATAC of `d1`, kNN `d0` -> `d1` + `d2`, batch = `dataset`).
    #[serde(flatten)]
    pub scores: super::AtacIntegration,
    /// Timings, memory, size and device.
    #[serde(flatten)]
    pub cost: super::RunCost,
}

impl MosaicScores {
    /// One JSON object (NaN becomes `null`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("scores serialize")
    }
}

/// For each name of `wanted` (an imputation's output features), its column
/// among `names` (the columns of a truth matrix).
pub(crate) fn column_map(names: &[String], wanted: &[String]) -> Result<Vec<usize>> {
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), j))
        .collect();
    wanted
        .iter()
        .map(|w| {
            index
                .get(w.as_str())
                .copied()
                .ok_or_else(|| Error::NotFound(format!("feature '{w}' in the truth matrix")))
        })
        .collect()
}

/// `inverse[j]`: the position of truth column `j` in `cols`, if selected.
fn inverse(cols: &[usize], n_cols: usize) -> Vec<Option<usize>> {
    let mut inv = vec![None; n_cols];
    for (k, &j) in cols.iter().enumerate() {
        inv[j] = Some(k);
    }
    inv
}

/// Dense `[rows, cols]` copy (as `f64`) of the selected rows and columns of `m`.
pub(crate) fn dense_select(m: &Matrix, rows: &[usize], cols: &[usize]) -> Vec<f64> {
    let inv = inverse(cols, m.n_cols());
    let p = cols.len();
    let mut out = vec![0.0; rows.len() * p];
    for (i, &r) in rows.iter().enumerate() {
        for (j, v) in m.row(r) {
            if let Some(k) = inv[j] {
                out[i * p + k] = v as f64;
            }
        }
    }
    out
}

/// For each selected column of `m`, the fraction of the given rows where it is non-zero.
pub(crate) fn nonzero_frequencies(m: &Matrix, rows: &[usize], cols: &[usize]) -> Vec<f64> {
    let inv = inverse(cols, m.n_cols());
    let mut freq = vec![0.0; cols.len()];
    for &r in rows {
        for (j, v) in m.row(r) {
            if let (Some(k), true) = (inv[j], v > 0.0) {
                freq[k] += 1.0;
            }
        }
    }
    freq.iter_mut().for_each(|f| *f /= rows.len().max(1) as f64);
    freq
}

/// Per-cell AUROC and AP of `pred` (`[rows, cols]` probabilities) against the
/// binarized (`> 0`) rows `rows` / columns `cols` of `truth`, averaged over the
/// cells where they are defined (cells with some but not all peaks open); then
/// the same two with the per-peak `baseline` scores in place of `pred`.
pub(crate) fn per_cell_peak_scores(
    pred: &[f32],
    truth: &Matrix,
    rows: &[usize],
    cols: &[usize],
    baseline: &[f64],
) -> [f64; 4] {
    use rayon::prelude::*;
    let inv = inverse(cols, truth.n_cols());
    let p = cols.len();
    let per_cell: Vec<[f64; 4]> = rows
        .par_iter()
        .enumerate()
        .map(|(i, &r)| {
            let mut labels = vec![false; p];
            for (j, v) in truth.row(r) {
                if let (Some(k), true) = (inv[j], v > 0.0) {
                    labels[k] = true;
                }
            }
            let scores: Vec<f64> = pred[i * p..(i + 1) * p].iter().map(|&v| v as f64).collect();
            [
                metrics::auroc(&scores, &labels),
                metrics::average_precision(&scores, &labels),
                metrics::auroc(baseline, &labels),
                metrics::average_precision(baseline, &labels),
            ]
        })
        .collect();
    let mut out = [0.0; 4];
    for (k, o) in out.iter_mut().enumerate() {
        let col: Vec<f64> = per_cell.iter().map(|c| c[k]).collect();
        *o = mean_median(&col).0;
    }
    out
}

/// Trains a fresh model of `cfg` on the mosaic of `spec` and scores it
/// (`progress` is called after every epoch, as `Model::fit_with_progress`).
pub fn run(
    cfg: &ModelConfig,
    spec: &MosaicSpec,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&EpochLog) -> ControlFlow<()>,
) -> Result<MosaicScores> {
    let mosaic = mosaic_trimodal(spec)?;
    let (model, train_seconds, epochs) = super::train_timed(cfg, &mosaic.data, opts, progress)?;
    let mut s = evaluate(&model, &mosaic, opts.n_draws)?;
    s.cost.trained(train_seconds, epochs, opts.threads);
    s.data_seed = spec.seed;
    Ok(s)
}

/// Scores a model trained on (a mosaic like) `mosaic` (timings of training
/// left at 0).
pub fn evaluate(
    model: &Model,
    mosaic: &SyntheticMosaic,
    n_draws: Option<usize>,
) -> Result<MosaicScores> {
    let d0 = mosaic.cells_of(0);
    let d1 = mosaic.cells_of(1);
    let d2 = mosaic.cells_of(2);
    if d0.is_empty() || d1.is_empty() || d2.is_empty() {
        return Err(crate::invalid_data(
            "the mosaic needs cells in all three datasets",
        ));
    }
    // Protein for d2 (unmeasured there).
    let t0 = Instant::now();
    let mut req = ImputeRequest::new("adt");
    req.scale = ImputeScale::Counts;
    req.n_draws = n_draws;
    let adt = model.impute(&mosaic.data.select_cells(&d2)?, &req)?;
    // ATAC for d1 (unmeasured there).
    let mut req = ImputeRequest::new("atac");
    req.n_draws = n_draws;
    let atac = model.impute(&mosaic.data.select_cells(&d1)?, &req)?;
    let impute_seconds = t0.elapsed().as_secs_f64();
    let p = adt.features.len();
    let adt_cols = column_map(modality_features(mosaic, "adt")?, &adt.features)?;
    let truth = dense_select(&mosaic.truth_adt, &d2, &adt_cols);
    let pred: Vec<f64> = adt.mean.iter().map(|&v| v as f64).collect();
    let (pm, pmed, sm) = metrics::column_correlations(&clr(&truth, p), &clr(&pred, p), p);
    let atac_cols = column_map(modality_features(mosaic, "atac")?, &atac.features)?;
    let measured: Vec<usize> = d0.iter().chain(&d2).copied().collect();
    let freq = nonzero_frequencies(&mosaic.truth_atac, &measured, &atac_cols);
    let [au, ap, au0, ap0] =
        per_cell_peak_scores(&atac.mean, &mosaic.truth_atac, &d1, &atac_cols, &freq);
    // Embedding of all cells.
    let t1 = Instant::now();
    let z = model.embed(&mosaic.data)?;
    let embed_seconds = t1.elapsed().as_secs_f64();
    let dim = z.dim;
    let rows = |cells: &[usize]| -> Vec<f32> {
        cells
            .iter()
            .flat_map(|&c| z.values[c * dim..(c + 1) * dim].iter().copied())
            .collect()
    };
    let queries: Vec<usize> = d1.iter().chain(&d2).copied().collect();
    let labels = |cells: &[usize]| -> Vec<String> {
        cells.iter().map(|&c| mosaic.cell_type[c].clone()).collect()
    };
    let knn_acc = knn_accuracy(
        &rows(&d0),
        &labels(&d0),
        &rows(&queries),
        &labels(&queries),
        dim,
        K,
    );
    let types = metrics::label_codes(&mosaic.cell_type);
    let scores = super::AtacIntegration::score(
        [au, ap, au0, ap0],
        knn_acc,
        &z.values,
        dim,
        &types,
        &mosaic.dataset,
    );
    Ok(MosaicScores {
        protocol: "mosaic-trimodal v1".into(),
        model: model.config().model.as_str().into(),
        n_cells: mosaic.data.n_cells(),
        epochs: model.epochs_trained(),
        seed: model.config().train.seed,
        data_seed: 0,
        protein_pearson_mean: pm,
        protein_pearson_median: pmed,
        protein_spearman_mean: sm,
        scores,
        cost: super::RunCost::of(model, impute_seconds, embed_seconds),
    })
}

fn modality_features<'a>(mosaic: &'a SyntheticMosaic, name: &str) -> Result<&'a [String]> {
    mosaic
        .data
        .modality(name)
        .map(|m| m.features())
        .ok_or_else(|| Error::NotFound(format!("modality '{name}' in the mosaic")))
}
