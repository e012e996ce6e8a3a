//! The `reap-impute v1` protocol (`benchmarks.md`, `reference-results.md`):
//! RNA -> protein imputation on REAP-seq PBMC.
//!
//! Train on the `split == train` cells with both modalities (2000 HVGs of
//! `rna_hvg.tsv`, all proteins, raw counts); test cells get RNA only. Imputed
//! protein values (count scale) are rescaled per cell to the median train protein
//! library, CLR-transformed together with the observed counts, and compared per
//! protein (Pearson, Spearman), overall (RMSE) and per cell (Pearson). The
//! embedding of all cells is scored by kNN (k = 15) label transfer from train to
//! test cells, by the ARI of a 9-cluster graph clustering against `cell_type`,
//! and by the modality gap between the RNA-only test cells and the paired
//! train cells ([`crate::gap`]).

use super::cluster::cluster_to_k;
use super::gap::{self, modality_sets, LabelMixing};
use super::metrics::{
    adjusted_rand_index, clr, knn_accuracy, mean_median, pearson, per_column, spearman,
};
use scmosaic::config::{ModalityConfig, Normalization};
use scmosaic::data::read_lines;
use scmosaic::{
    read_10x_folder, Dataset, Error, ImputeRequest, ImputeScale, Likelihood, Modality, Model,
    ModelConfig, Result,
};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// The standardized run of the protocol (100 epochs, batch 256, latent 32,
/// seed 0) with scmosaic's default model settings.
pub fn standard_config() -> ModelConfig {
    standardized(ModelConfig {
        latent_dim: 32,
        ..Default::default()
    })
}

/// `c` with the standardized run's schedule: 100 epochs, batch 256, seed 0.
fn standardized(mut c: ModelConfig) -> ModelConfig {
    c.train.epochs = 100;
    c.train.batch_size = 256;
    c.train.seed = 0;
    c
}

/// The standardized run with the settings the reference scVAEIT was run with
/// (`reference-results.md`, "Settings used"): the authors' bimodal PBMC
/// configuration, learning rate 3e-4 without schedule, modality weights 0.1/0.9.
/// Use it to compare with the reference figures like for like.
pub fn reference_config() -> ModelConfig {
    let c = ModelConfig::from_json(
        r#"{
          "latent_dim": 32,
          "hidden": [256],
          "modalities": [
            {"name": "rna", "block_hidden": 256, "embed_dim": 32, "weight": 0.1},
            {"name": "adt", "block_hidden": 128, "embed_dim": 16, "weight": 0.9}
          ],
          "beta_kl": 1.0, "beta_unobs": 0.6666666666666666, "beta_reverse": 0.5,
          "p_feat": 0.2, "p_modal": [0.5, 0.5],
          "train": {"learning_rate": 3e-4, "lr_schedule": "constant"}
        }"#,
    )
    .expect("valid config");
    standardized(c)
}

/// The standardized run for Multigrate with scmosaic's defaults: RNA raw
/// counts with `nb`, protein counts with totalVI's background/foreground NB
/// mixture on a CLR input (`nb_mixture`), z 32, 100 epochs, batch 256, no
/// validation split; everything else (modality dropout, modality alignment,
/// layers, optimizer) Multigrate's defaults.
pub fn multigrate_config() -> ModelConfig {
    let c = ModelConfig::from_json(
        r#"{
          "model": "multigrate",
          "latent_dim": 32,
          "modalities": [
            {"name": "rna", "likelihood": "nb"},
            {"name": "adt", "likelihood": "nb", "normalization": "clr", "nb_mixture": {}}
          ],
          "train": {"validation_fraction": 0.0}
        }"#,
    )
    .expect("valid config");
    standardized(c)
}

/// The standardized run for Multigrate with the settings the reference
/// Multigrate was run with (`reference-results.md`): RNA raw counts with `nb`,
/// protein CLR with `mse`, z 32, 2 x 128 layers, dropout 0.2, LayerNorm, AdamW
/// lr 5e-4, weight decay 1e-3, 100 epochs, batch 256, no validation split, and
/// neither modality dropout nor modality alignment.
pub fn multigrate_reference_config() -> ModelConfig {
    let mut c = multigrate_config();
    c.modalities[1] = ModalityConfig {
        name: "adt".into(),
        likelihood: Some(Likelihood::Gaussian),
        normalization: Some(Normalization::Clr),
        ..Default::default()
    };
    let mg = c.multigrate.get_or_insert_with(Default::default);
    mg.dropout = 0.2;
    mg.modality_dropout = 0.0;
    mg.modality_alignment = 0.0;
    c
}

/// Train and test data of the protocol.
#[derive(Debug, Clone)]
pub struct ReapData {
    /// Train cells: `rna` (HVGs) and `adt`.
    pub train: Dataset,
    /// Test cells: `rna` only.
    pub test: Dataset,
    /// Proteins scored (present in both folders).
    pub proteins: Vec<String>,
    /// Observed protein counts of the test cells, `[n_test, proteins]`.
    pub test_protein_counts: Vec<f64>,
    /// `cell_type` of train cells.
    pub train_labels: Vec<String>,
    /// `cell_type` of test cells.
    pub test_labels: Vec<String>,
    /// Median protein library size of the train cells.
    pub train_protein_median: f64,
}

/// Scores of one run.
#[derive(Debug, Clone, Default)]
pub struct ReapScores {
    /// Mean over proteins of the Pearson correlation (CLR scale).
    pub protein_pearson_mean: f64,
    /// Median over proteins of the Pearson correlation.
    pub protein_pearson_median: f64,
    /// Mean over proteins of the Spearman correlation.
    pub protein_spearman_mean: f64,
    /// RMSE over all CLR entries.
    pub clr_rmse: f64,
    /// Mean over test cells of the Pearson correlation across proteins.
    pub cell_pearson_mean: f64,
    /// kNN (k = 15) label accuracy of test cells from train cells in the latent space.
    pub knn_accuracy: f64,
    /// ARI of a graph clustering of all cells' latent (as many clusters as types).
    pub ari: f64,
    /// Wall seconds to impute the test cells.
    pub impute_seconds: f64,
    /// The modality gap of all cells' latent: test cells (`rna`) against
    /// train cells (`rna+adt`), k = 15 ([`gap::modality_gap`]).
    pub modality_gap: LabelMixing,
}

fn rows_where(col: &[String], value: &str) -> Vec<usize> {
    col.iter()
        .enumerate()
        .filter(|(_, v)| v.as_str() == value)
        .map(|(i, _)| i)
        .collect()
}

/// Loads the protocol's data. `test_dir = None` uses the `split == test` cells
/// of `train_dir`; another folder contributes its `split == test` cells (all
/// cells when it has no split column), with genes and proteins matched by name.
pub fn load(train_dir: &Path, test_dir: Option<&Path>) -> Result<ReapData> {
    let tr = read_10x_folder(train_dir)?;
    let hvg = read_lines(train_dir.join("rna_hvg.tsv"))?;
    let select = |genes: &[String], wanted: &[String]| -> Vec<usize> {
        let idx: std::collections::HashMap<&str, usize> = genes
            .iter()
            .enumerate()
            .map(|(i, g)| (g.as_str(), i))
            .collect();
        wanted
            .iter()
            .filter_map(|g| idx.get(g.as_str()).copied())
            .collect()
    };
    let (genes, rna) = tr.modality("rna")?;
    let hvg_cols = select(genes, &hvg);
    if hvg_cols.len() != hvg.len() {
        return Err(crate::invalid_data(
            "rna_hvg.tsv lists genes absent from rna_features.tsv",
        ));
    }
    let (prots, adt) = tr.modality("adt")?;
    let split = tr.cell_column("split")?;
    let types = tr.cell_column("cell_type")?;
    let train_rows = rows_where(split, "train");
    let rna_hvg = rna.select_cols(&hvg_cols)?;
    let train = Dataset::new(vec![
        Modality::new(
            "rna",
            Likelihood::Nb,
            hvg.clone(),
            rna_hvg.select_rows(&train_rows),
        )?,
        Modality::new(
            "adt",
            Likelihood::Nb,
            prots.to_vec(),
            adt.select_rows(&train_rows),
        )?,
    ])?;
    // Library sizes are whole numbers, so the median is exact in f64.
    let train_protein_median = mean_median(&adt.select_rows(&train_rows).row_sums()).1;
    let owned;
    let te = match test_dir {
        Some(p) => {
            owned = read_10x_folder(p)?;
            &owned
        }
        None => &tr,
    };
    let test_rows = match te.cells.get("split") {
        Some(s) if test_dir.is_none() || s.iter().any(|v| v == "test") => rows_where(s, "test"),
        _ => (0..te.barcodes.len()).collect(),
    };
    if test_rows.is_empty() {
        return Err(crate::invalid_data("no test cells"));
    }
    let (te_genes, te_rna) = te.modality("rna")?;
    let te_cols = select(te_genes, &hvg);
    let te_names: Vec<String> = te_cols.iter().map(|&c| te_genes[c].clone()).collect();
    let test = Dataset::new(vec![Modality::new(
        "rna",
        Likelihood::Nb,
        te_names,
        te_rna.select_cols(&te_cols)?.select_rows(&test_rows),
    )?])?;
    let (te_prots, te_adt) = te.modality("adt")?;
    let shared: Vec<String> = prots
        .iter()
        .filter(|p| te_prots.contains(p))
        .cloned()
        .collect();
    let te_pcols = select(te_prots, &shared);
    let dense = te_adt
        .select_cols(&te_pcols)?
        .select_rows(&test_rows)
        .to_dense();
    let test_protein_counts = dense.stored_values().iter().map(|&v| v as f64).collect();
    let te_types = te
        .cell_column("cell_type")
        .map(|c| c.to_vec())
        .unwrap_or_else(|_| vec![String::new(); te.barcodes.len()]);
    Ok(ReapData {
        train,
        test,
        proteins: shared,
        test_protein_counts,
        train_labels: train_rows.iter().map(|&r| types[r].clone()).collect(),
        test_labels: test_rows.iter().map(|&r| te_types[r].clone()).collect(),
        train_protein_median,
    })
}

/// Scores a trained model on the protocol (`n_draws` posterior draws for imputation).
pub fn evaluate(model: &Model, data: &ReapData, n_draws: Option<usize>) -> Result<ReapScores> {
    let p = data.proteins.len();
    let mut req = ImputeRequest::new("adt");
    req.features = Some(data.proteins.clone());
    req.scale = ImputeScale::Counts;
    req.n_draws = n_draws;
    let t0 = Instant::now();
    let imp = model.impute(&data.test, &req)?;
    let impute_seconds = t0.elapsed().as_secs_f64();
    let pred: Vec<f64> = imp.mean.iter().map(|&v| v as f64).collect();
    let ps = ProteinScores::score(
        &data.test_protein_counts,
        &pred,
        p,
        data.train_protein_median,
    );
    // embedding
    let zt = model.embed(&data.train)?;
    let zs = model.embed(&data.test)?;
    let d = zt.dim;
    let knn_accuracy = knn_accuracy(
        &zt.values,
        &data.train_labels,
        &zs.values,
        &data.test_labels,
        d,
        15,
    );
    let mut all = zt.values.clone();
    all.extend_from_slice(&zs.values);
    let labels: Vec<&String> = data.train_labels.iter().chain(&data.test_labels).collect();
    let mut types = labels.clone();
    types.sort();
    types.dedup();
    let clusters = cluster_to_k(&all, d, types.len(), 15, 0);
    let ari = adjusted_rand_index(&clusters, &labels);
    let mut sets = modality_sets(&data.train);
    sets.extend(modality_sets(&data.test));
    let modality_gap = gap::modality_gap(&all, d, &sets, &labels, 15);
    Ok(ReapScores {
        protein_pearson_mean: ps.pearson_mean,
        protein_pearson_median: ps.pearson_median,
        protein_spearman_mean: ps.spearman_mean,
        clr_rmse: ps.clr_rmse,
        cell_pearson_mean: ps.cell_pearson_mean,
        knn_accuracy,
        ari,
        impute_seconds,
        modality_gap,
    })
}

/// Protein imputation scores on the per-cell CLR scale (reap-impute v1).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProteinScores {
    /// Mean over proteins of the Pearson correlation across cells.
    pub pearson_mean: f64,
    /// Median over proteins of the Pearson correlation.
    pub pearson_median: f64,
    /// Mean over proteins of the Spearman correlation.
    pub spearman_mean: f64,
    /// Median over proteins of the Spearman correlation.
    pub spearman_median: f64,
    /// RMSE over all CLR entries.
    pub clr_rmse: f64,
    /// Mean over cells of the Pearson correlation across proteins.
    pub cell_pearson_mean: f64,
}

impl ProteinScores {
    /// Scores predicted counts `pred` against observed counts `obs` (both
    /// `[n, p]`): each predicted cell is rescaled to the library `library`,
    /// then both are CLR-transformed ([`clr`]) and compared per protein
    /// (Pearson, Spearman), overall (RMSE) and per cell (Pearson).
    pub fn score(obs: &[f64], pred: &[f64], p: usize, library: f64) -> ProteinScores {
        let mut pred = pred.to_vec();
        for row in pred.chunks_mut(p) {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|v| *v *= library / s);
            }
        }
        let obs = clr(obs, p);
        let hat = clr(&pred, p);
        let n = obs.len() / p.max(1);
        let (pearson_mean, pearson_median) = mean_median(&per_column(&obs, &hat, p, pearson));
        let (spearman_mean, spearman_median) = mean_median(&per_column(&obs, &hat, p, spearman));
        let per_c: Vec<f64> = (0..n)
            .map(|i| pearson(&obs[i * p..(i + 1) * p], &hat[i * p..(i + 1) * p]))
            .collect();
        let clr_rmse = (obs
            .iter()
            .zip(&hat)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / obs.len() as f64)
            .sqrt();
        ProteinScores {
            pearson_mean,
            pearson_median,
            spearman_mean,
            spearman_median,
            clr_rmse,
            cell_pearson_mean: mean_median(&per_c).0,
        }
    }
}

/// A validation split of the protocol's **training** cells, for choosing
/// settings without touching the test cells: a seeded random `fraction` of
/// the `split == train` cells (shuffled with `split_seed`, independent of the
/// model seed) becomes the "test" part with its protein hidden (RNA only,
/// not trained on), the rest trains with both modalities. The result is a
/// [`ReapData`] that [`evaluate`] scores like the real protocol.
pub fn validation_split(data: &ReapData, fraction: f64, split_seed: u64) -> Result<ReapData> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let n = data.train.n_cells();
    let nv = ((n as f64) * fraction).round() as usize;
    if !(fraction > 0.0 && fraction < 1.0) || nv < 2 || n - nv < 2 {
        return Err(Error::InvalidConfig(format!(
            "validation fraction {fraction} of {n} training cells leaves too few cells"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(split_seed));
    let mut valid = order.split_off(n - nv);
    let mut fit = order;
    valid.sort_unstable();
    fit.sort_unstable();
    let train = data.train.select_cells(&fit)?;
    let held = data.train.select_cells(&valid)?;
    let no = |m: &str| Error::InvalidData(format!("no {m} modality"));
    let rna = held.modality("rna").ok_or_else(|| no("rna"))?.clone();
    let test = Dataset::new(vec![rna])?;
    let test_protein_counts = protein_counts(&held, &data.proteins)?;
    let libs = train
        .modality("adt")
        .ok_or_else(|| no("adt"))?
        .data()
        .row_sums();
    Ok(ReapData {
        train,
        test,
        proteins: data.proteins.clone(),
        test_protein_counts,
        train_labels: fit.iter().map(|&r| data.train_labels[r].clone()).collect(),
        test_labels: valid
            .iter()
            .map(|&r| data.train_labels[r].clone())
            .collect(),
        train_protein_median: mean_median(&libs).1,
    })
}

/// The counts of `proteins` (by name, in that order) of every cell of
/// `data`'s `adt` modality, `[n_cells, proteins]` row-major.
pub fn protein_counts(data: &Dataset, proteins: &[String]) -> Result<Vec<f64>> {
    let adt = data
        .modality("adt")
        .ok_or_else(|| Error::InvalidData("no adt modality".into()))?;
    let idx: std::collections::HashMap<&str, usize> = adt
        .features()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let cols = proteins
        .iter()
        .map(|p| {
            idx.get(p.as_str())
                .copied()
                .ok_or_else(|| Error::NotFound(format!("protein '{p}'")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let dense = adt.data().select_cols(&cols)?.to_dense();
    Ok(dense.stored_values().iter().map(|&v| v as f64).collect())
}
