//! Model configuration: the single source of truth for a model.
//!
//! A [`ModelConfig`] is written by the user (Rust, JSON through the C ABI, or
//! the R/Julia wrappers). Fields left unset are filled by
//! [`ModelConfig::resolve`] from the dataset [`Schema`]; the resolved config
//! (every field explicit) is what a model stores and what checkpoints carry, so a
//! model is always `resolved config + schema + weights`.
//!
//! Defaults follow the scVAEIT paper scripts (spec §1.3): trunk `[256]`, latent 32,
//! per-block widths 256/128 (16 for per-chromosome ATAC blocks), mask embeddings
//! 32/16 (2), `beta_kl` 1, `beta_unobs` 2/3, `beta_reverse` 0.5 with two modalities
//! (0 otherwise), `p_feat` 0.2, uniform `p_modal`, AdamW weight decay 1e-4,
//! batch 512, 300 epochs, and the learning rate of the paper's scripts, 1e-3 (the
//! current package's 3e-4 leaves 100-epoch runs undertrained). Two defaults are
//! scmosaic's, chosen on reap-impute v1 (README): uniform modality weights, and a
//! cosine learning-rate decay to 5% over the epochs of a `fit` call.
//!
//! With `"model": "multigrate"` the shared fields take Multigrate's defaults
//! ([`kind_defaults`]: latent 16, hidden `[128]`, AdamW lr 5e-4, weight decay
//! 1e-3, epsilon 1e-8, batch 256, 200 epochs, constant rate, 10% validation
//! with early stopping) and the `multigrate` section holds the rest
//! ([`MultigrateConfig`]). The scVAEIT-only fields (`beta_*`, `p_feat`,
//! `p_modal`, `skip_conn`, `max_disp`, `mmd`, `leaky_slope`, per-modality
//! `block_hidden`/`embed_dim`) are ignored by Multigrate.

mod multigrate;

pub use multigrate::{
    Activation, AlignmentLoss, AlignmentType, ContCovType, Kernel, LatentMode, LayerNormKind, Mix,
    MultigrateConfig,
};

use crate::data::Likelihood;
use crate::error::{Error, Result};
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// The model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// scVAEIT (Du, Cai, Roeder, PNAS 2022): masked VAE for mosaic integration and imputation.
    #[default]
    Scvaeit,
    /// Multigrate: product-of-experts VAE with optional MMD alignment.
    Multigrate,
}

impl ModelKind {
    /// Name used in checkpoints.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelKind::Scvaeit => "scvaeit",
            ModelKind::Multigrate => "multigrate",
        }
    }
}

/// How a modality's raw values are transformed before entering the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Normalization {
    /// Values are used as given.
    None,
    /// `log1p(target_sum * x / library)`, the library being the cell's total
    /// over the modality's observed features (scVAEIT's preprocessing of RNA and ADT).
    LogNormalize {
        /// Counts per cell after scaling (1e4 in the paper).
        target_sum: f32,
    },
    /// `x > 0 -> 1`, else 0 (ATAC peaks).
    Binarize,
    /// Centred log-ratio per cell: `log1p(x) - mean(log1p(x))` over the
    /// modality's observed features (protein counts, as muon's `prot.pp.clr`).
    Clr,
}

/// Per-modality settings. Unset fields are derived from the data by
/// [`ModelConfig::resolve`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ModalityConfig {
    /// Modality name, as in the dataset.
    pub name: String,
    /// Observation model; default: the dataset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Likelihood>,
    /// Loss weight (`beta_modal`); default: uniform (`1/M`). The paper tunes
    /// these per dataset so the modalities' losses have similar magnitudes (RNA/ADT
    /// 0.15/0.85; ATAC 0.01 next to RNA and ADT): set them for modalities with very
    /// many features such as ATAC peaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Width of each block's encoder input layer and decoder output layer;
    /// default 16 for modalities split into several blocks, else 256 with
    /// >= 1000 features and 128 below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hidden: Option<usize>,
    /// Width of each block's mask embedding; default 2 for multi-block
    /// modalities, else 32 with >= 1000 features and 16 below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_dim: Option<usize>,
    /// Input transform; default `log_normalize` (1e4) for NB/ZINB, `binarize`
    /// for Bernoulli, `none` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
}

/// MMD penalty between groups of a covariate on the latent mean (spec §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmdConfig {
    /// Covariate whose groups are aligned (must be one of the model's covariates).
    pub covariate: String,
    /// Weight at epoch 0.
    #[serde(default = "d_mmd_gamma")]
    pub gamma: f64,
    /// `gamma(epoch) = gamma * decay^(epoch / decay_epochs)` (tutorial: 0.8 per 50 epochs).
    #[serde(default = "d_mmd_decay")]
    pub decay: f64,
    /// See `decay`.
    #[serde(default = "d_mmd_decay_epochs")]
    pub decay_epochs: f64,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training cells.
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    /// Cells per minibatch (the last incomplete minibatch of an epoch is dropped,
    /// as in the reference; with fewer cells than this, one batch of all cells).
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// AdamW learning rate (paper scripts: 1e-3).
    #[serde(default = "d_lr")]
    pub learning_rate: f64,
    /// Learning-rate schedule over the epochs of one `fit` call (default:
    /// cosine decay to 5% of the rate; the reference uses a constant rate).
    #[serde(default = "d_schedule")]
    pub lr_schedule: LrSchedule,
    /// Decoupled weight decay (multiplied by the learning rate, Keras semantics).
    #[serde(default = "d_wd")]
    pub weight_decay: f64,
    /// AdamW epsilon (Keras: 1e-7).
    #[serde(default = "d_adam_eps")]
    pub adam_epsilon: f64,
    /// Clip each parameter's gradient to this L2 norm (`None`: no clipping, as
    /// the reference). Useful with raw-count inputs of very large scale.
    #[serde(default)]
    pub grad_clip_norm: Option<f64>,
    /// Seed of every random stream (initialisation, shuffling, masks, sampling).
    #[serde(default)]
    pub seed: u64,
    /// Fraction of cells held out for validation (0 = none). With validation,
    /// early stopping is on and the best weights are restored at the end.
    #[serde(default)]
    pub validation_fraction: f64,
    /// Epochs without relative improvement before stopping.
    #[serde(default = "d_patience")]
    pub patience: usize,
    /// Minimum relative improvement of the validation loss.
    #[serde(default = "d_min_delta")]
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
    #[serde(default = "d_inf_batch")]
    pub batch_size: usize,
    /// Posterior draws averaged for imputation (0 = decode the posterior mean only).
    #[serde(default = "d_draws")]
    pub n_draws: usize,
    /// Batch-norm statistics used at inference.
    #[serde(default)]
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

/// Full model configuration (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Model family.
    #[serde(default)]
    pub model: ModelKind,
    /// Latent dimension `d`.
    #[serde(default = "d_latent")]
    pub latent_dim: usize,
    /// Hidden widths of the encoder trunk (the decoder uses them reversed).
    #[serde(default = "d_hidden")]
    pub hidden: Vec<usize>,
    /// Per-modality settings (order = model order). Empty: all dataset modalities, defaults.
    #[serde(default)]
    pub modalities: Vec<ModalityConfig>,
    /// Names of the categorical covariates the model conditions on.
    /// `None`: all covariates of the training dataset. (Continuous covariates
    /// are not selected here: a model uses every continuous covariate of its
    /// training data, recorded in its schema.)
    #[serde(default)]
    pub covariates: Option<Vec<String>>,
    /// KL weight.
    #[serde(default = "d_beta_kl")]
    pub beta_kl: f64,
    /// Weight of the masked-prediction term; the observed term gets `1 - beta_unobs`.
    #[serde(default = "d_beta_unobs")]
    pub beta_unobs: f64,
    /// Weight of the reverse prediction term. `None`: 0.5 with two modalities, else 0.
    #[serde(default)]
    pub beta_reverse: Option<f64>,
    /// Per-entry masking probability.
    #[serde(default = "d_p_feat")]
    pub p_feat: f64,
    /// Probabilities of masking each modality whole (model order). `None`: uniform.
    #[serde(default)]
    pub p_modal: Option<Vec<f64>>,
    /// Add the encoder's block input layers to the decoder's block layers.
    #[serde(default)]
    pub skip_conn: bool,
    /// Upper clip of dispersions / scales.
    #[serde(default = "d_max_disp")]
    pub max_disp: f64,
    /// Optional MMD penalty.
    #[serde(default)]
    pub mmd: Option<MmdConfig>,
    /// LeakyReLU negative slope (Keras default 0.3).
    #[serde(default = "d_leaky")]
    pub leaky_slope: f64,
    /// Batch-norm running-average weight of a new batch (Keras momentum 0.99).
    #[serde(default = "d_bn_momentum")]
    pub bn_momentum: f64,
    /// Batch-norm epsilon (Keras 1e-3).
    #[serde(default = "d_bn_eps")]
    pub bn_epsilon: f64,
    /// Training settings.
    #[serde(default)]
    pub train: TrainConfig,
    /// Inference settings.
    #[serde(default)]
    pub inference: InferenceConfig,
    /// Initial bias of the output layers (both models).
    #[serde(default)]
    pub head_bias: HeadBias,
    /// Multigrate settings (`model = "multigrate"` only; filled by `resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigrate: Option<MultigrateConfig>,
}

/// Initial bias of the output layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadBias {
    /// From the training data (the default; a deviation from both references).
    /// Multigrate: NB/ZINB heads the log mean proportion of each feature,
    /// Bernoulli the logit of its frequency, Gaussian its mean. scVAEIT:
    /// Bernoulli blocks the logit of each peak's frequency (its NB and
    /// Gaussian outputs are already mapped into data-derived bounds, so they
    /// keep the reference's zero bias). The untrained model then predicts
    /// the average cell, so the first steps need not spend themselves moving
    /// thousands of output biases by Adam's ~`lr` per step (with 25,000
    /// peaks at frequency ~3%, that took the whole run on SNARE-seq and the
    /// latent collapsed).
    #[default]
    Data,
    /// The references' init: Multigrate PyTorch's `U(-1/sqrt(h), 1/sqrt(h))`,
    /// scVAEIT zero.
    Default,
}

/// The defaults of the shared fields that differ by model kind, as a JSON
/// object the user's config is merged over (empty for scVAEIT).
pub fn kind_defaults(kind: ModelKind) -> serde_json::Value {
    match kind {
        ModelKind::Scvaeit => serde_json::json!({}),
        ModelKind::Multigrate => serde_json::json!({
            "latent_dim": 16,
            "hidden": [128],
            "train": {
                "epochs": 200,
                "batch_size": 256,
                "learning_rate": 5e-4,
                "lr_schedule": "constant",
                "weight_decay": 1e-3,
                "adam_epsilon": 1e-8,
                "validation_fraction": 0.1,
                "patience": 10,
                "min_delta": 0.0
            },
            "inference": {"n_draws": 0},
            "multigrate": {}
        }),
    }
}

/// The model kind named by a JSON config (`"model"`), scVAEIT when absent.
fn json_kind(v: &serde_json::Value) -> Result<ModelKind> {
    match v.get("model") {
        None => Ok(ModelKind::Scvaeit),
        Some(k) => serde_json::from_value(k.clone()).map_err(|e| {
            Error::config(format!(
                "config JSON: model: {e} (expected \"scvaeit\" or \"multigrate\")"
            ))
        }),
    }
}

fn d_epochs() -> usize {
    300
}
fn d_batch() -> usize {
    512
}
fn d_lr() -> f64 {
    1e-3
}
fn d_schedule() -> LrSchedule {
    LrSchedule::Cosine {
        final_fraction: 0.05,
    }
}
fn d_wd() -> f64 {
    1e-4
}
fn d_adam_eps() -> f64 {
    1e-7
}
fn d_patience() -> usize {
    10
}
fn d_min_delta() -> f64 {
    1e-4
}
fn d_inf_batch() -> usize {
    256
}
fn d_draws() -> usize {
    50
}
fn d_latent() -> usize {
    32
}
fn d_hidden() -> Vec<usize> {
    vec![256]
}
fn d_beta_kl() -> f64 {
    1.0
}
fn d_beta_unobs() -> f64 {
    2.0 / 3.0
}
fn d_p_feat() -> f64 {
    0.2
}
fn d_max_disp() -> f64 {
    6.0
}
fn d_leaky() -> f64 {
    0.3
}
fn d_bn_momentum() -> f64 {
    0.01
}
fn d_bn_eps() -> f64 {
    1e-3
}
fn d_mmd_gamma() -> f64 {
    2.0
}
fn d_mmd_decay() -> f64 {
    0.8
}
fn d_mmd_decay_epochs() -> f64 {
    50.0
}

impl Default for TrainConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}
impl Default for InferenceConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}
impl Default for ModelConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}

/// Finite and > 0 (false for NaN).
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Finite and >= 0 (false for NaN).
fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

/// Deep-merges `patch` into `base`: objects key by key (recursively), any
/// other value replaces what was there.
pub fn merge_json(base: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(slot) if v.is_object() && slot.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

impl ModelConfig {
    /// Parses a JSON config; unknown keys and wrong types are errors that name
    /// the key. Unset fields take the defaults of the named model kind.
    pub fn from_json(json: &str) -> Result<Self> {
        let user: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::config(format!("config JSON: {e}")))?;
        if !user.is_object() {
            return Err(Error::config("config JSON must be an object"));
        }
        let mut value = kind_defaults(json_kind(&user)?);
        merge_json(&mut value, user);
        let c: ModelConfig = serde_json::from_value(value)
            .map_err(|e| Error::config(format!("config JSON: {e}")))?;
        c.validate_basic()?;
        Ok(c)
    }

    /// The default config of a model kind.
    pub fn for_kind(kind: ModelKind) -> ModelConfig {
        let mut value = kind_defaults(kind);
        merge_json(&mut value, serde_json::json!({ "model": kind }));
        serde_json::from_value(value).expect("kind defaults are valid")
    }

    /// This config with a JSON object merged in (see [`merge_json`]), checked
    /// like [`ModelConfig::from_json`]; `self` is unchanged either way. A patch
    /// that changes the model kind starts from that kind's defaults (set the
    /// kind first, then the other fields).
    pub fn merged(&self, patch: serde_json::Value) -> Result<ModelConfig> {
        let mut value = serde_json::to_value(self).expect("config serializes");
        if patch.get("model").is_some() && json_kind(&patch)? != self.model {
            value = kind_defaults(json_kind(&patch)?);
        }
        merge_json(&mut value, patch);
        let c: ModelConfig = serde_json::from_value(value).map_err(Error::config)?;
        c.validate_basic()?;
        Ok(c)
    }

    /// The config as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serializes")
    }

    /// The settings for modality `name` (after [`ModelConfig::resolve`]).
    pub fn modality(&self, name: &str) -> Option<&ModalityConfig> {
        self.modalities.iter().find(|m| m.name == name)
    }

    /// Checks ranges that do not depend on data.
    pub fn validate_basic(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if self.latent_dim == 0 {
            return bad("latent_dim must be at least 1".into());
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad(format!(
                "hidden must be a non-empty list of positive widths, got {:?}",
                self.hidden
            ));
        }
        let unit = |name: &str, v: f64| -> Result<()> {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(format!("{name} must be in [0, 1], got {v}")));
            }
            Ok(())
        };
        unit("beta_unobs", self.beta_unobs)?;
        unit("p_feat", self.p_feat)?;
        if let Some(b) = self.beta_reverse {
            unit("beta_reverse", b)?;
        }
        if !non_negative(self.beta_kl) {
            return bad(format!("beta_kl must be >= 0, got {}", self.beta_kl));
        }
        if !positive(self.max_disp) {
            return bad(format!("max_disp must be > 0, got {}", self.max_disp));
        }
        if !(self.leaky_slope >= 0.0 && self.leaky_slope < 1.0) {
            return bad(format!(
                "leaky_slope must be in [0, 1), got {}",
                self.leaky_slope
            ));
        }
        unit("bn_momentum", self.bn_momentum)?;
        if !positive(self.bn_epsilon) {
            return bad(format!("bn_epsilon must be > 0, got {}", self.bn_epsilon));
        }
        let t = &self.train;
        if t.batch_size < 2 {
            return bad(format!(
                "train.batch_size must be at least 2 (batch norm), got {}",
                t.batch_size
            ));
        }
        if !positive(t.learning_rate) {
            return bad(format!(
                "train.learning_rate must be > 0, got {}",
                t.learning_rate
            ));
        }
        if !non_negative(t.weight_decay) || !positive(t.adam_epsilon) {
            return bad("train.weight_decay must be >= 0 and train.adam_epsilon > 0".into());
        }
        if let Some(c) = t.grad_clip_norm {
            if !positive(c) {
                return bad(format!("train.grad_clip_norm must be > 0, got {c}"));
            }
        }
        if let LrSchedule::Cosine { final_fraction } = t.lr_schedule {
            if !(0.0..=1.0).contains(&final_fraction) {
                return bad(format!(
                    "train.lr_schedule.cosine.final_fraction must be in [0, 1], got {final_fraction}"
                ));
            }
        }
        if !(0.0..0.9).contains(&t.validation_fraction) {
            return bad(format!(
                "train.validation_fraction must be in [0, 0.9), got {}",
                t.validation_fraction
            ));
        }
        if self.inference.batch_size == 0 {
            return bad("inference.batch_size must be at least 1".into());
        }
        if let Some(m) = &self.mmd {
            if !(non_negative(m.gamma) && positive(m.decay) && positive(m.decay_epochs)) {
                return bad("mmd: gamma must be >= 0, decay and decay_epochs > 0".into());
            }
        }
        if let Some(mg) = &self.multigrate {
            if self.model != ModelKind::Multigrate {
                return bad(format!(
                    "the `multigrate` section is for model \"multigrate\" (this config is \"{}\")",
                    self.model.as_str()
                ));
            }
            if mg.cond_dim == 0 {
                return bad("multigrate.cond_dim must be at least 1".into());
            }
            if !(mg.dropout.is_finite() && (0.0..1.0).contains(&mg.dropout)) {
                return bad(format!(
                    "multigrate.dropout must be in [0, 1), got {}",
                    mg.dropout
                ));
            }
            for (name, v) in [
                ("recon_weight", Some(mg.recon_weight)),
                ("kl_weight", Some(mg.kl_weight)),
                ("integ_weight", mg.integ_weight),
            ] {
                if let Some(v) = v {
                    if !non_negative(v) {
                        return bad(format!("multigrate.{name} must be >= 0, got {v}"));
                    }
                }
            }
            if mg.kl_warmup_epochs == Some(0) {
                return bad("multigrate.kl_warmup_epochs must be at least 1".into());
            }
            if mg.cont_cov_type == ContCovType::Mlp {
                return bad(
                    "multigrate.cont_cov_type \"mlp\" is not implemented; use \"sigm\" (the default) or \"logsigm\""
                        .into(),
                );
            }
        }
        for m in &self.modalities {
            if let Some(w) = m.weight {
                if !non_negative(w) {
                    return bad(format!(
                        "modality '{}': weight must be >= 0, got {w}",
                        m.name
                    ));
                }
            }
            if m.block_hidden == Some(0) || m.embed_dim == Some(0) {
                return bad(format!(
                    "modality '{}': block_hidden and embed_dim must be positive",
                    m.name
                ));
            }
            if let Some(Normalization::LogNormalize { target_sum }) = m.normalization {
                if !positive(target_sum as f64) {
                    return bad(format!("modality '{}': target_sum must be > 0", m.name));
                }
            }
        }
        Ok(())
    }

    fn resolve_scvaeit_modalities(&self, schema: &Schema) -> Vec<ModalityConfig> {
        let uniform = 1.0 / schema.modalities.len() as f64;
        schema
            .modalities
            .iter()
            .map(|ms| {
                let user = self.modality(&ms.name).cloned().unwrap_or_default();
                let multi = ms.blocks.len() > 1;
                let big = ms.features.len() >= 1000;
                let likelihood = user.likelihood.unwrap_or(ms.likelihood);
                ModalityConfig {
                    name: ms.name.clone(),
                    likelihood: Some(likelihood),
                    weight: Some(user.weight.unwrap_or(uniform)),
                    block_hidden: Some(user.block_hidden.unwrap_or(if multi {
                        16
                    } else if big {
                        256
                    } else {
                        128
                    })),
                    embed_dim: Some(user.embed_dim.unwrap_or(if multi {
                        2
                    } else if big {
                        32
                    } else {
                        16
                    })),
                    normalization: Some(user.normalization.unwrap_or(match likelihood {
                        Likelihood::Nb | Likelihood::Zinb => {
                            Normalization::LogNormalize { target_sum: 1e4 }
                        }
                        Likelihood::Bernoulli => Normalization::Binarize,
                        Likelihood::Gaussian | Likelihood::Poisson => Normalization::None,
                    })),
                }
            })
            .collect()
    }

    /// Multigrate: weight 1 per modality (`loss_coefs["m"]`); NB/ZINB model
    /// raw counts (their input is the raw counts too, as in the reference);
    /// Bernoulli binarizes; Gaussian ("mse") takes the values as given unless a
    /// normalization (e.g. `clr` for protein counts) is set.
    fn resolve_multigrate_modalities(&self, schema: &Schema) -> Result<Vec<ModalityConfig>> {
        schema
            .modalities
            .iter()
            .map(|ms| {
                let user = self.modality(&ms.name).cloned().unwrap_or_default();
                let likelihood = user.likelihood.unwrap_or(ms.likelihood);
                let normalization = user.normalization.unwrap_or(match likelihood {
                    Likelihood::Bernoulli => Normalization::Binarize,
                    _ => Normalization::None,
                });
                match likelihood {
                    Likelihood::Poisson => {
                        return Err(Error::config(format!(
                            "modality '{}': Multigrate has no poisson loss (use nb, zinb, gaussian/mse or bernoulli/bce)",
                            ms.name
                        )))
                    }
                    Likelihood::Nb | Likelihood::Zinb if normalization != Normalization::None => {
                        return Err(Error::config(format!(
                            "modality '{}': Multigrate's {} loss models raw counts, so its normalization must be \"none\"",
                            ms.name,
                            likelihood.as_str()
                        )))
                    }
                    _ => {}
                }
                Ok(ModalityConfig {
                    name: ms.name.clone(),
                    likelihood: Some(likelihood),
                    weight: Some(user.weight.unwrap_or(1.0)),
                    block_hidden: None,
                    embed_dim: None,
                    normalization: Some(normalization),
                })
            })
            .collect()
    }

    /// Fills every unset field from the dataset schema and checks consistency.
    /// The result lists every modality of `schema`, in schema order.
    pub fn resolve(&self, schema: &Schema) -> Result<ModelConfig> {
        self.validate_basic()?;
        let mut out = self.clone();
        for m in &self.modalities {
            if schema.modality(&m.name).is_none() {
                return Err(Error::NotFound(format!(
                    "config names modality '{}', which the data do not have (data: {})",
                    m.name,
                    schema.modality_names().join(", ")
                )));
            }
        }
        if self.model == ModelKind::Multigrate {
            out.modalities = self.resolve_multigrate_modalities(schema)?;
        } else {
            out.modalities = self.resolve_scvaeit_modalities(schema);
            let n_mod = schema.modalities.len();
            out.beta_reverse =
                Some(
                    self.beta_reverse
                        .unwrap_or(if n_mod == 2 { 0.5 } else { 0.0 }),
                );
            let p = self
                .p_modal
                .clone()
                .unwrap_or_else(|| vec![1.0 / n_mod as f64; n_mod]);
            if p.len() != n_mod {
                return Err(Error::config(format!(
                    "p_modal has {} entries for {n_mod} modalities",
                    p.len()
                )));
            }
            let sum: f64 = p.iter().sum();
            if p.iter().any(|&v| !non_negative(v)) || sum <= 0.0 {
                return Err(Error::config(format!(
                    "p_modal must be non-negative with a positive sum, got {p:?}"
                )));
            }
            out.p_modal = Some(p.iter().map(|v| v / sum).collect());
        }
        let cov_names: Vec<String> = schema.covariates.iter().map(|c| c.name.clone()).collect();
        match &self.covariates {
            None => out.covariates = Some(cov_names.clone()),
            Some(list) => {
                for c in list {
                    if schema.continuous.iter().any(|k| &k.name == c) {
                        return Err(Error::config(format!(
                            "covariates: '{c}' is a continuous covariate; `covariates` selects \
                             categorical ones (the model uses every continuous covariate of the data)"
                        )));
                    }
                    if !cov_names.contains(c) {
                        return Err(Error::NotFound(format!(
                            "covariate '{c}' is not in the data (data covariates: {})",
                            if cov_names.is_empty() {
                                "none".to_string()
                            } else {
                                cov_names.join(", ")
                            }
                        )));
                    }
                }
            }
        }
        if self.model == ModelKind::Multigrate {
            let mut mg = self.multigrate.clone().unwrap_or_default();
            if let Some(g) = &mg.integrate_on {
                if !out.covariates.as_ref().expect("set").contains(g) {
                    return Err(Error::NotFound(format!(
                        "multigrate.integrate_on '{g}' is not one of the model's covariates"
                    )));
                }
            }
            mg.integ_weight =
                Some(
                    mg.integ_weight
                        .unwrap_or(if mg.alignment.is_some() { 1.0 } else { 0.0 }),
                );
            mg.kl_warmup_epochs = Some(
                mg.kl_warmup_epochs
                    .unwrap_or((self.train.epochs / 3).max(1)),
            );
            out.multigrate = Some(mg);
        }
        if let Some(m) = &self.mmd {
            if !out.covariates.as_ref().expect("set").contains(&m.covariate) {
                return Err(Error::NotFound(format!(
                    "mmd.covariate '{}' is not one of the model's covariates",
                    m.covariate
                )));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c = ModelConfig::default();
        assert_eq!(c.latent_dim, 32);
        assert_eq!(c.hidden, vec![256]);
        assert!((c.beta_unobs - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.train.batch_size, 512);
        let e = ModelConfig::from_json(r#"{"latent": 8}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `latent`"), "{e}");
        let e = ModelConfig::from_json(r#"{"modalities":[{"name":"rna","likelihood":"negbin"}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("negbin"), "{e}");
        let e = ModelConfig::from_json(r#"{"p_feat": 1.5}"#).unwrap_err();
        assert!(e.to_string().contains("p_feat"), "{e}");
        let e = ModelConfig::from_json(r#"{"hidden": []}"#).unwrap_err();
        assert!(e.to_string().contains("hidden"), "{e}");
        let c = ModelConfig::from_json(r#"{"latent_dim": 8, "train": {"epochs": 3}}"#).unwrap();
        assert_eq!(c.latent_dim, 8);
        assert_eq!(c.train.epochs, 3);
        assert_eq!(c.train.learning_rate, 1e-3);
        let back = ModelConfig::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
    }
}
