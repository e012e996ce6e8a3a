//! `mosaic-trimodal v1` on real paired data: SNARE-seq adult mouse cortex
//! (not bundled: a folder of RNA + ATAC of the same nuclei, given with
//! `--snare-dir`; docs/results.md describes it), RNA -> ATAC imputation and
//! the joint embedding.
//!
//! - Modalities: `rna` (all 1677 genes, raw counts, NB) and `atac` (all 25,734
//!   peaks, Bernoulli; read counts binarized by the model's default
//!   normalization; per-chromosome blocks from the `chrN:start-end` names).
//! - A fresh model (any kind chosen through the [`ModelConfig`]) is trained on
//!   the `split == train` cells with both modalities. The `split == test`
//!   cells are given RNA only (the ATAC modality is absent from their dataset).
//! - **Chromatin**: ATAC probabilities imputed for the test cells; per cell,
//!   AUROC and average precision against the observed peaks (`> 0`), averaged
//!   over cells; the same with each peak's frequency among the train cells as
//!   a model-free baseline.
//! - **Embedding** (train cells from RNA + ATAC, test cells from RNA alone):
//!   kNN (k = 15) accuracy of test `cell_type` from train cells; ARI of
//!   [`cluster::cluster_to_k`] (as many clusters as types, 15) over all cells;
//!   batch mixing over the 12 SNARE-seq `library` labels: kNN (k = 15) batch
//!   entropy and scIB batch ASW within cell types, over all cells.
//! - `max_cells`: a seeded random subset of the cells for quick runs (the
//!   split of each kept cell is unchanged).

use super::metrics::{self, knn_accuracy};
use super::mosaic::{column_map, nonzero_frequencies, per_cell_peak_scores, RunOptions, K};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use scmosaic::{
    read_10x_folder, Dataset, EpochLog, Error, ImputeRequest, Likelihood, Matrix, Modality, Model,
    ModelConfig, Result,
};
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

/// Train and test data of the protocol.
#[derive(Debug, Clone)]
pub struct SnareData {
    /// Train cells: `rna` and `atac`.
    pub train: Dataset,
    /// Test cells: `rna` only.
    pub test: Dataset,
    /// Observed ATAC read counts of the test cells (cells x peaks CSR).
    pub test_atac: Matrix,
    /// Peak names (columns of `test_atac`).
    pub peaks: Vec<String>,
    /// Peak frequency (fraction of cells with a read) among the train cells, per peak.
    pub train_peak_frequency: Vec<f64>,
    /// `cell_type` of train cells.
    pub train_labels: Vec<String>,
    /// `cell_type` of test cells.
    pub test_labels: Vec<String>,
    /// `library` of train cells.
    pub train_library: Vec<String>,
    /// `library` of test cells.
    pub test_library: Vec<String>,
}

/// Scores and costs of one SNARE-seq run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnareScores {
    /// Protocol name (`mosaic-trimodal v1 / snare_mouse_cortex`).
    pub protocol: String,
    /// Model kind.
    pub model: String,
    /// Train cells.
    pub n_train: usize,
    /// Test cells.
    pub n_test: usize,
    /// Genes.
    pub n_genes: usize,
    /// Peaks.
    pub n_peaks: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Training seed.
    pub seed: u64,
    /// Imputed ATAC and integration (ATAC of the test cells, kNN train -> test, batch = `library`).
    #[serde(flatten)]
    pub scores: super::AtacIntegration,
    /// Timings, memory, size and device.
    #[serde(flatten)]
    pub cost: super::RunCost,
}

impl SnareScores {
    /// One JSON object (NaN becomes `null`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("scores serialize")
    }
}

/// Loads the folder; `max_cells` keeps a random subset (seeded by `seed`).
pub fn load(dir: &Path, max_cells: Option<usize>, seed: u64) -> Result<SnareData> {
    let f = read_10x_folder(dir)?;
    let (genes, rna) = f.modality("rna")?;
    let (peaks, atac) = f.modality("atac")?;
    let split = f.cell_column("split")?;
    let types = f.cell_column("cell_type")?;
    let library = f.cell_column("library")?;
    let n = f.barcodes.len();
    let mut keep: Vec<usize> = (0..n).collect();
    if let Some(m) = max_cells.filter(|&m| m < n) {
        keep.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        keep.truncate(m);
        keep.sort_unstable();
    }
    let train_rows: Vec<usize> = keep
        .iter()
        .copied()
        .filter(|&r| split[r] == "train")
        .collect();
    let test_rows: Vec<usize> = keep
        .iter()
        .copied()
        .filter(|&r| split[r] == "test")
        .collect();
    if train_rows.is_empty() || test_rows.is_empty() {
        return Err(crate::invalid_data(format!(
            "{}: need train and test cells (got {} and {})",
            dir.display(),
            train_rows.len(),
            test_rows.len()
        )));
    }
    let names =
        |rows: &[usize]| -> Vec<String> { rows.iter().map(|&r| f.barcodes[r].clone()).collect() };
    let col = |c: &[String], rows: &[usize]| -> Vec<String> {
        rows.iter().map(|&r| c[r].clone()).collect()
    };
    let train = Dataset::new(vec![
        Modality::new(
            "rna",
            Likelihood::Nb,
            genes.to_vec(),
            rna.select_rows(&train_rows),
        )?,
        Modality::new(
            "atac",
            Likelihood::Bernoulli,
            peaks.to_vec(),
            atac.select_rows(&train_rows),
        )?
        .with_chromosome_blocks()?,
    ])?
    .with_cell_names(names(&train_rows))?;
    let test = Dataset::new(vec![Modality::new(
        "rna",
        Likelihood::Nb,
        genes.to_vec(),
        rna.select_rows(&test_rows),
    )?])?
    .with_cell_names(names(&test_rows))?;
    let all_cols: Vec<usize> = (0..peaks.len()).collect();
    Ok(SnareData {
        train_peak_frequency: nonzero_frequencies(atac, &train_rows, &all_cols),
        test_atac: atac.select_rows(&test_rows),
        peaks: peaks.to_vec(),
        train,
        test,
        train_labels: col(types, &train_rows),
        test_labels: col(types, &test_rows),
        train_library: col(library, &train_rows),
        test_library: col(library, &test_rows),
    })
}

/// Loads `dir`, trains a fresh model of `cfg` on the train cells and scores it.
pub fn run(
    cfg: &ModelConfig,
    dir: &Path,
    max_cells: Option<usize>,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&EpochLog) -> ControlFlow<()>,
) -> Result<SnareScores> {
    let data = load(dir, max_cells, cfg.train.seed)?;
    let (model, train_seconds, epochs) = super::train_timed(cfg, &data.train, opts, progress)?;
    let mut s = evaluate(&model, &data, opts.n_draws)?;
    s.cost.trained(train_seconds, epochs, opts.threads);
    Ok(s)
}

/// Scores a model trained on `data.train` (training timings left at 0).
pub fn evaluate(model: &Model, data: &SnareData, n_draws: Option<usize>) -> Result<SnareScores> {
    let t0 = Instant::now();
    let mut req = ImputeRequest::new("atac");
    req.n_draws = n_draws;
    let atac = model.impute(&data.test, &req)?;
    let impute_seconds = t0.elapsed().as_secs_f64();
    let cols = column_map(&data.peaks, &atac.features)?;
    let baseline: Vec<f64> = cols.iter().map(|&j| data.train_peak_frequency[j]).collect();
    let test_rows: Vec<usize> = (0..data.test.n_cells()).collect();
    let [au, ap, au0, ap0] =
        per_cell_peak_scores(&atac.mean, &data.test_atac, &test_rows, &cols, &baseline);
    drop(atac);
    let t1 = Instant::now();
    let zt = model.embed(&data.train)?;
    let zs = model.embed(&data.test)?;
    let embed_seconds = t1.elapsed().as_secs_f64();
    let d = zt.dim;
    let knn_acc = knn_accuracy(
        &zt.values,
        &data.train_labels,
        &zs.values,
        &data.test_labels,
        d,
        K,
    );
    let mut all = zt.values;
    all.extend_from_slice(&zs.values);
    let labels: Vec<&String> = data.train_labels.iter().chain(&data.test_labels).collect();
    let types = metrics::label_codes(&labels);
    let libs: Vec<&String> = data
        .train_library
        .iter()
        .chain(&data.test_library)
        .collect();
    let batches = metrics::label_codes(&libs);
    let scores =
        super::AtacIntegration::score([au, ap, au0, ap0], knn_acc, &all, d, &types, &batches);
    let rna = data
        .train
        .modality("rna")
        .ok_or_else(|| Error::NotFound("modality 'rna' in the train data".into()))?;
    Ok(SnareScores {
        protocol: "mosaic-trimodal v1 / snare_mouse_cortex".into(),
        model: model.config().model.as_str().into(),
        n_train: data.train.n_cells(),
        n_test: data.test.n_cells(),
        n_genes: rna.features().len(),
        n_peaks: data.peaks.len(),
        epochs: model.epochs_trained(),
        seed: model.config().train.seed,
        scores,
        cost: super::RunCost::of(model, impute_seconds, embed_seconds),
    })
}
