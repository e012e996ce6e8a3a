//! Settings of the Multigrate model (spec `multigrate.md` §2–§4) that the
//! scVAEIT model does not have. They live in the `multigrate` section of a
//! [`ModelConfig`](super::ModelConfig); the shared fields (`latent_dim`,
//! `hidden`, `modalities`, `covariates`, `train`, `inference`) keep their
//! meaning, with Multigrate's own defaults (see [`kind_defaults`](super::kind_defaults)).

use serde::{Deserialize, Serialize};

/// Per-layer normalization of the fully connected stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LayerNormKind {
    /// LayerNorm without learnable scale/shift (scvi `FCLayers`; the default).
    #[default]
    Layer,
    /// BatchNorm1d (momentum 0.01, epsilon 1e-3).
    Batch,
    /// No normalization.
    None,
}

/// Activation of the fully connected stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// LeakyReLU with slope 0.01 (the default).
    #[default]
    LeakyRelu,
    /// Hyperbolic tangent.
    Tanh,
}

/// How the per-modality posteriors are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mix {
    /// Product of experts with the N(0, 1) prior expert (the default).
    #[default]
    Product,
    /// The reference's "mixture": the law of the mask-weighted average of the
    /// experts (mean `sum w mu`, variance `sum w^2 var`); a cell with no
    /// modality falls back to the prior instead of the reference's NaN.
    Mixture,
}

/// Alignment penalty between groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignmentLoss {
    /// Maximum mean discrepancy on sampled latents.
    Mmd,
    /// Symmetric KL between position-paired posteriors (the reference needs equal
    /// group sizes and raises otherwise; scmosaic pairs the first `min(n_a, n_b)`
    /// cells of each group).
    Jeffreys,
}

/// What the alignment penalty compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlignmentType {
    /// The joint latent across `integrate_on` groups (the default).
    #[default]
    Latent,
    /// Each pair of modalities' marginal latents over the cells that have both,
    /// and each modality's marginal latent across `integrate_on` groups.
    Marginal,
    /// Both of the above.
    Both,
}

/// Kernel of the MMD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// Multi-scale RBF `(1/19) sum_g exp(-g |x - y|^2)` (the default).
    #[default]
    Gaussian,
    /// First and second moments: `mean((mean_x - mean_y)^2) + mean((cov_x - cov_y)^2)`.
    Moments,
}

/// Which latent value `embed` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LatentMode {
    /// The posterior mean (deterministic; the default).
    #[default]
    Mean,
    /// One reparameterised sample (the reference's `X_multigrate`), seeded.
    Sample,
}

/// How Multigrate turns the continuous covariates `c` into `s = f(c)` before
/// embedding them (`s @ W_cont`, one `cond_dim` vector for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContCovType {
    /// `sigmoid(c * beta + b)` per covariate (`beta` init 1, `b` init 0; the default).
    #[default]
    Sigm,
    /// `sigmoid(log1p(c) * beta + b)`; the values must be >= 0.
    Logsigm,
    /// The reference's per-covariate MLP: not implemented (rejected with an error).
    Mlp,
}

/// Multigrate-only settings (defaults as the reference `MultiVAE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultigrateConfig {
    /// Width `C` of each covariate embedding.
    #[serde(default = "d_cond")]
    pub cond_dim: usize,
    /// Dropout after every layer of the encoders and decoders.
    #[serde(default = "d_dropout")]
    pub dropout: f64,
    /// Layer normalization.
    #[serde(default)]
    pub normalization: LayerNormKind,
    /// Activation.
    #[serde(default)]
    pub activation: Activation,
    /// Feed the covariate embeddings to the encoders.
    #[serde(default = "d_true")]
    pub condition_encoders: bool,
    /// Feed the covariate embeddings to the decoders.
    #[serde(default = "d_true")]
    pub condition_decoders: bool,
    /// Posterior combination.
    #[serde(default)]
    pub mix: Mix,
    /// Categorical covariate whose groups the alignment penalty compares, that
    /// indexes the NB/ZINB dispersions, and that stratifies the minibatches
    /// (cells of at most two groups, half a batch each). Must be one of the
    /// model's covariates.
    #[serde(default)]
    pub integrate_on: Option<String>,
    /// Alignment penalty (`None`: none, the reference default).
    #[serde(default)]
    pub alignment: Option<AlignmentLoss>,
    /// What the penalty compares.
    #[serde(default)]
    pub alignment_type: AlignmentType,
    /// MMD kernel.
    #[serde(default)]
    pub kernel: Kernel,
    /// Weight of the reconstruction term (`loss_coefs["recon"]`).
    #[serde(default = "d_one")]
    pub recon_weight: f64,
    /// Weight of the KL term (`loss_coefs["kl"]`, 1e-5).
    #[serde(default = "d_kl")]
    pub kl_weight: f64,
    /// Weight of the alignment penalty (`loss_coefs["integ"]`); default 1 when
    /// an alignment is set, else 0.
    #[serde(default)]
    pub integ_weight: Option<f64>,
    /// Epochs of linear KL warm-up (default `max(epochs / 3, 1)`); the KL
    /// weight of epoch `e` is `min(e / warmup, 1)`.
    #[serde(default)]
    pub kl_warmup_epochs: Option<usize>,
    /// What `embed` returns.
    #[serde(default)]
    pub latent: LatentMode,
    /// Transform of the continuous covariates (`sigm` or `logsigm`).
    #[serde(default)]
    pub cont_cov_type: ContCovType,
}

fn d_cond() -> usize {
    16
}
fn d_dropout() -> f64 {
    0.2
}
fn d_true() -> bool {
    true
}
fn d_one() -> f64 {
    1.0
}
fn d_kl() -> f64 {
    1e-5
}

impl Default for MultigrateConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}
