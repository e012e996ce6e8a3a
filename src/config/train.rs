//! Training and inference settings, shared by every model (their defaults
//! are each model's: `scvaeit.rs`, `multigrate.rs`).

use serde::{Deserialize, Serialize};

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training cells.
    pub epochs: usize,
    /// Cells per minibatch (the last incomplete minibatch of an epoch is dropped,
    /// as in the reference; with fewer cells than this, one batch of all cells).
    pub batch_size: usize,
    /// AdamW learning rate (paper scripts: 1e-3).
    pub learning_rate: f64,
    /// Learning-rate schedule over the epochs of one `fit` call (default:
    /// cosine decay to 5% of the rate; the reference uses a constant rate).
    pub lr_schedule: LrSchedule,
    /// Decoupled weight decay (multiplied by the learning rate, Keras semantics).
    pub weight_decay: f64,
    /// AdamW epsilon (Keras: 1e-7).
    pub adam_epsilon: f64,
    /// Clip each parameter's gradient to this L2 norm (`None`: no clipping, as
    /// the reference). Useful with raw-count inputs of very large scale.
    #[serde(default)]
    pub grad_clip_norm: Option<f64>,
    /// Seed of every random stream (initialisation, shuffling, masks, sampling).
    pub seed: u64,
    /// Fraction of cells held out for validation (0 = none). With validation,
    /// early stopping is on and the best weights are restored at the end.
    pub validation_fraction: f64,
    /// Epochs without relative improvement before stopping.
    pub patience: usize,
    /// Minimum relative improvement of the validation loss.
    pub min_delta: f64,
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same rate every epoch (the reference).
    Constant,
    /// Cosine decay from `learning_rate` to `learning_rate * final_fraction` at the last epoch.
    Cosine {
        /// Final rate as a fraction of the initial one.
        final_fraction: f64,
    },
}

impl LrSchedule {
    /// The rate of epoch `e` (0-based) of `n` epochs.
    pub fn rate(&self, lr: f64, e: usize, n: usize) -> f64 {
        match *self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine { final_fraction } => {
                let t = if n > 1 {
                    e as f64 / (n - 1) as f64
                } else {
                    0.0
                };
                let lo = lr * final_fraction;
                lo + 0.5 * (lr - lo) * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

/// Inference settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// Cells per minibatch for embedding and imputation.
    pub batch_size: usize,
    /// Posterior draws averaged for imputation (0 = decode the posterior mean only).
    pub n_draws: usize,
    /// Batch-norm statistics used at inference.
    pub batch_norm: InferenceNorm,
}

/// Batch-norm statistics at inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InferenceNorm {
    /// Running averages from training: each cell's output is independent of the others.
    #[default]
    Running,
    /// Statistics of each inference minibatch (the reference's default), in data
    /// order; outputs depend on which cells are processed together.
    Batch,
}

impl Default for TrainConfig {
    /// The default model's (scVAEIT's) training settings.
    fn default() -> Self {
        super::ModelConfig::default().train
    }
}

impl Default for InferenceConfig {
    /// The default model's (scVAEIT's) inference settings.
    fn default() -> Self {
        super::ModelConfig::default().inference
    }
}
