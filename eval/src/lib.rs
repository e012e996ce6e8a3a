//! # scmosaic-eval
//!
//! Evaluation of [`scmosaic`] models, kept out of the shipped library: the
//! metrics, the benchmark protocols (reap-impute v1, mosaic-trimodal v1 on the
//! synthetic mosaic and on SNARE-seq, hao-mosaic v1 with its model-free
//! baselines), the modality-gap metric, the coverage of imputation intervals, the seeded synthetic trimodal mosaic,
//! and the flags the protocol binaries share ([`cli`]). The examples,
//! benchmarks and tests of the workspace use it; it uses only the public API of
//! `scmosaic`.

pub mod baseline;
pub mod cli;
pub mod cluster;
pub mod coverage;
pub mod gap;
pub mod hao;
pub mod metrics;
pub mod mosaic;
pub mod reap;
pub mod snare;
pub mod synthetic;

use serde::Serialize;

/// An [`scmosaic::Error::InvalidData`] with this message.
pub(crate) fn invalid_data(msg: impl std::fmt::Display) -> scmosaic::Error {
    scmosaic::Error::InvalidData(msg.to_string())
}

/// Imputed-ATAC and integration scores, shared by the synthetic mosaic and
/// SNARE-seq protocols (flattened into their JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AtacIntegration {
    /// Mean over the scored cells of the per-cell AUROC of imputed ATAC probabilities.
    pub atac_auroc: f64,
    /// Mean over the scored cells of the per-cell average precision.
    pub atac_ap: f64,
    /// The same AUROC with the peak frequencies of ATAC-measured training cells as scores.
    pub atac_auroc_baseline: f64,
    /// The same AP with the peak-frequency baseline.
    pub atac_ap_baseline: f64,
    /// kNN (k = 15) accuracy of the scored cells' types from the reference cells.
    pub knn_accuracy: f64,
    /// ARI of the clustering of all cells against the cell types.
    pub ari: f64,
    /// kNN (k = 15) entropy of the batch labels, normalized (1 = perfect mixing).
    pub batch_entropy: f64,
    /// scIB batch ASW over the batch labels within cell types (1 = perfect mixing).
    pub batch_asw: f64,
}

impl AtacIntegration {
    /// The scores from the per-cell peak scores `[auroc, ap, auroc
    /// baseline, ap baseline]`, the kNN accuracy, and the embedding of all
    /// cells (`[n, d]`) with their type and batch codes: the ARI of a clustering
    /// into as many clusters as types (k = 15 graph), kNN batch entropy and batch ASW.
    pub(crate) fn score(
        peaks: [f64; 4],
        knn_accuracy: f64,
        z: &[f32],
        d: usize,
        types: &[usize],
        batches: &[usize],
    ) -> AtacIntegration {
        let k = mosaic::K;
        let n_types = types.iter().max().map_or(0, |m| m + 1);
        let clusters = cluster::cluster_to_k(z, d, n_types, k, 0);
        let [atac_auroc, atac_ap, atac_auroc_baseline, atac_ap_baseline] = peaks;
        AtacIntegration {
            atac_auroc,
            atac_ap,
            atac_auroc_baseline,
            atac_ap_baseline,
            knn_accuracy,
            ari: metrics::adjusted_rand_index(&clusters, types),
            batch_entropy: metrics::knn_batch_entropy(z, d, batches, k),
            batch_asw: metrics::batch_asw(z, d, batches, types),
        }
    }

    /// The scores as printed rows: `scored` names the cells whose ATAC was
    /// imputed, `transfer` the kNN direction, `batch` the batch labels.
    pub fn rows(&self, scored: &str, transfer: &str, batch: &str) -> Vec<(String, f64)> {
        vec![
            (format!("ATAC ({scored}) cell AUROC, mean"), self.atac_auroc),
            (format!("ATAC ({scored}) cell AP, mean"), self.atac_ap),
            (
                "  baseline: peak frequency AUROC".into(),
                self.atac_auroc_baseline,
            ),
            (
                "  baseline: peak frequency AP".into(),
                self.atac_ap_baseline,
            ),
            (format!("kNN accuracy {transfer} (k=15)"), self.knn_accuracy),
            ("ARI".into(), self.ari),
            (format!("batch entropy ({batch}, k=15)"), self.batch_entropy),
            (format!("batch ASW ({batch})"), self.batch_asw),
        ]
    }
}

/// What a protocol run cost and where it ran (flattened into the scores' JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCost {
    /// Wall seconds of `fit` (0 when only scored).
    pub train_seconds: f64,
    /// `train_seconds` per epoch.
    pub seconds_per_epoch: f64,
    /// Wall seconds of the protocol's imputations.
    pub impute_seconds: f64,
    /// Wall seconds of embedding all cells.
    pub embed_seconds: f64,
    /// Peak resident memory of the process (MiB).
    pub peak_rss_mib: f64,
    /// Trainable parameters.
    pub params: usize,
    /// Kernel threads (0 = default).
    pub threads: usize,
    /// Device name.
    pub device: String,
}

impl RunCost {
    /// The costs as `(name, value)` rows of a printed table.
    pub fn rows(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("train seconds", self.train_seconds),
            ("seconds per epoch", self.seconds_per_epoch),
            ("impute seconds", self.impute_seconds),
            ("peak RSS MiB", self.peak_rss_mib),
            ("parameters", self.params as f64),
        ]
    }

    /// The cost of scoring `model` (training time left at 0).
    pub(crate) fn of(model: &scmosaic::Model, impute_seconds: f64, embed_seconds: f64) -> RunCost {
        RunCost {
            train_seconds: 0.0,
            seconds_per_epoch: 0.0,
            impute_seconds,
            embed_seconds,
            peak_rss_mib: peak_rss_mib(),
            params: model.n_params(),
            threads: model.threads(),
            device: model.device().name(),
        }
    }

    /// Adds the training time of `epochs` epochs and the run's thread setting;
    /// re-reads the peak memory.
    pub(crate) fn trained(&mut self, train_seconds: f64, epochs: usize, threads: usize) {
        self.train_seconds = train_seconds;
        self.seconds_per_epoch = train_seconds / epochs.max(1) as f64;
        self.threads = threads;
        self.peak_rss_mib = peak_rss_mib();
    }
}

/// Peak resident memory of this process in MiB (`VmHWM` from
/// `/proc/self/status`; NaN where that file does not exist).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Builds a model of `cfg` for `data` on the options' device and threads and
/// trains it: (model, wall seconds of `fit`, epochs run).
pub(crate) fn train_timed(
    cfg: &scmosaic::ModelConfig,
    data: &scmosaic::Dataset,
    opts: &mosaic::RunOptions,
    progress: &mut dyn FnMut(&scmosaic::EpochLog) -> std::ops::ControlFlow<()>,
) -> scmosaic::Result<(scmosaic::Model, f64, usize)> {
    let mut model = scmosaic::Model::new(cfg, data)?;
    model.set_device(&opts.device)?;
    model.set_threads(opts.threads)?;
    let t0 = std::time::Instant::now();
    let report = model.fit_with_progress(data, progress)?;
    Ok((model, t0.elapsed().as_secs_f64(), report.epochs_run))
}
