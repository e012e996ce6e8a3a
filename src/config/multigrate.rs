//! Multigrate's settings (docs/models.md, Multigrate §2–§4): its defaults
//! (written here once), the `multigrate` section of a
//! [`ModelConfig`](super::ModelConfig), its resolved form and the
//! resolution against a schema. The shared fields (`latent_dim`, `hidden`,
//! `modalities`, `covariates`, `train`, `inference`, `head_bias`) keep their
//! meaning, with Multigrate's own defaults (latent 16, hidden `[128]`, AdamW
//! lr 5e-4, weight decay 1e-3, epsilon 1e-8, batch 256, 200 epochs, constant
//! rate, 10% validation with early stopping, no posterior draws), two
//! settings the reference lacks and one it sets otherwise, chosen on a
//! validation split of reap-impute's training cells (docs/accuracy.md):
//! modality dropout 0.5, an MMD of weight 100 between the modalities' own
//! posteriors, and no unit dropout in the stacks (the reference: 0.2).

use super::{ModelConfig, Normalization, ResolvedModality};
use crate::data::Likelihood;
use crate::error::{Error, Result};
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// Every default of a Multigrate config, as the JSON object a user's config
/// is merged over.
pub(super) fn defaults() -> serde_json::Value {
    serde_json::json!({
        "model": "multigrate",
        "latent_dim": 16,
        "hidden": [128],
        "modalities": [],
        "head_bias": "data",
        "train": {
            "epochs": 200,
            "batch_size": 256,
            "learning_rate": 5e-4,
            "lr_schedule": "constant",
            "weight_decay": 1e-3,
            "adam_epsilon": 1e-8,
            "grad_clip_norm": null,
            "seed": 0,
            "validation_fraction": 0.1,
            "patience": 10,
            "min_delta": 0.0
        },
        "inference": {"batch_size": 256, "n_draws": 0, "batch_norm": "running"},
        "multigrate": {
            "cond_dim": 16,
            "dropout": 0.0,
            "normalization": "layer",
            "activation": "leaky_relu",
            "condition_encoders": true,
            "condition_decoders": true,
            "mix": "product",
            "alignment_type": "latent",
            "kernel": "gaussian",
            "recon_weight": 1.0,
            "kl_weight": 1e-5,
            "latent": "mean",
            "cont_cov_type": "sigm",
            "bn_momentum": BN_MOMENTUM,
            "bn_epsilon": BN_EPSILON,
            "modality_dropout": 0.5,
            "modality_alignment": 100.0
        }
    })
}

/// Batch-norm momentum and epsilon of the stacks (PyTorch's `BatchNorm1d`
/// as scvi configures it).
const BN_MOMENTUM: f64 = 0.01;
const BN_EPSILON: f64 = 1e-3;

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

/// Multigrate-only settings (defaults as the reference `MultiVAE`, except
/// `dropout`, `modality_dropout` and `modality_alignment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultigrateConfig {
    /// Width `C` of each covariate embedding.
    pub cond_dim: usize,
    /// Dropout after every layer of the encoders and decoders (default 0:
    /// with 0.2, the reference's value, RNA-only cells formed islands apart
    /// from the paired cells of their type; docs/accuracy.md).
    pub dropout: f64,
    /// Layer normalization.
    pub normalization: LayerNormKind,
    /// Activation.
    pub activation: Activation,
    /// Feed the covariate embeddings to the encoders.
    pub condition_encoders: bool,
    /// Feed the covariate embeddings to the decoders.
    pub condition_decoders: bool,
    /// Posterior combination.
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
    pub alignment_type: AlignmentType,
    /// MMD kernel.
    pub kernel: Kernel,
    /// Weight of the reconstruction term (`loss_coefs["recon"]`).
    pub recon_weight: f64,
    /// Weight of the KL term (`loss_coefs["kl"]`, 1e-5).
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
    pub latent: LatentMode,
    /// Transform of the continuous covariates (`sigm` or `logsigm`).
    pub cont_cov_type: ContCovType,
    /// Batch-norm running-average weight of a new batch (`normalization = "batch"`).
    pub bn_momentum: f64,
    /// Batch-norm epsilon (`normalization = "batch"`).
    pub bn_epsilon: f64,
    /// Modality dropout in training: the probability that a cell measured
    /// with two or more modalities has one of them (chosen uniformly) left
    /// out of the product of experts for that step, while every measured
    /// modality stays in the reconstruction loss. This trains the experts of
    /// the remaining modalities to predict the dropped one: the path cells
    /// measured with fewer modalities take (default 0.5; 0 = never, the reference).
    pub modality_dropout: f64,
    /// Weight of the MMD (with `kernel`) between each pair of modalities'
    /// own posterior samples over the cells measured with both: it aligns
    /// the unimodal experts, so cells measured with fewer modalities land
    /// where their multimodal counterparts do (default 100; 0 = none, the reference; the
    /// reference's `alignment_type = "marginal"` penalty without
    /// `integrate_on` groups). Independent of `alignment`/`integ_weight`.
    pub modality_alignment: f64,
}

impl Default for MultigrateConfig {
    fn default() -> Self {
        serde_json::from_value(defaults()["multigrate"].clone()).expect("Multigrate defaults")
    }
}

/// Multigrate's resolved settings: its section with every value explicit.
#[derive(Debug, Clone, PartialEq)]
pub struct MultigrateSettings {
    /// The section (`integ_weight` and `kl_warmup_epochs` set).
    pub section: MultigrateConfig,
    /// Weight of the alignment penalty.
    pub integ_weight: f64,
    /// Epochs of linear KL warm-up.
    pub kl_warmup_epochs: usize,
}

/// Per-modality defaults: weight 1 (`loss_coefs["m"]`); NB/ZINB model raw
/// counts (their input is the raw counts too, as in the reference);
/// Bernoulli binarizes; Gaussian ("mse") takes the values as given unless a
/// normalization (e.g. `clr` for protein counts) is set. `integ_weight`: 1
/// with an alignment, else 0; `kl_warmup_epochs`: a third of the epochs.
pub(super) fn resolve(
    cfg: &ModelConfig,
    schema: &Schema,
    covariates: &[String],
) -> Result<(Vec<ResolvedModality>, MultigrateSettings)> {
    let modalities = schema
        .modalities
        .iter()
        .map(|ms| {
            let user = cfg.modality(&ms.name).cloned().unwrap_or_default();
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
                Likelihood::Nb | Likelihood::Zinb
                    if normalization != Normalization::None && user.nb_mixture.is_none() =>
                {
                    return Err(Error::config(format!(
                        "modality '{}': Multigrate's {} loss models raw counts, so its normalization must be \"none\" \
                         (an nb_mixture fits the raw counts of any input transform)",
                        ms.name,
                        likelihood.as_str()
                    )))
                }
                _ if user.nb_mixture.is_some() && likelihood != Likelihood::Nb => {
                    return Err(Error::config(format!(
                        "modality '{}': nb_mixture needs the nb likelihood (got {})",
                        ms.name,
                        likelihood.as_str()
                    )))
                }
                _ => {}
            }
            Ok(ResolvedModality {
                name: ms.name.clone(),
                likelihood,
                weight: user.weight.unwrap_or(1.0),
                normalization,
                nb_mixture: user.nb_mixture,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let section = cfg.multigrate.clone().unwrap_or_default();
    if let Some(g) = &section.integrate_on {
        if !covariates.contains(g) {
            return Err(Error::NotFound(format!(
                "multigrate.integrate_on '{g}' is not one of the model's covariates"
            )));
        }
    }
    let integ_weight = section
        .integ_weight
        .unwrap_or(if section.alignment.is_some() {
            1.0
        } else {
            0.0
        });
    let kl_warmup_epochs = section
        .kl_warmup_epochs
        .unwrap_or((cfg.train.epochs / 3).max(1));
    Ok((
        modalities,
        MultigrateSettings {
            section,
            integ_weight,
            kl_warmup_epochs,
        },
    ))
}

/// The settings of a stored (already resolved) config, or `None` when a
/// setting is missing (a config no released version wrote).
pub(super) fn from_stored(cfg: &ModelConfig) -> Option<MultigrateSettings> {
    let section = cfg.multigrate.clone()?;
    Some(MultigrateSettings {
        integ_weight: section.integ_weight?,
        kl_warmup_epochs: section.kl_warmup_epochs?,
        section,
    })
}

/// Writes the settings back into the stored (JSON) form.
pub(super) fn store(s: &MultigrateSettings, cfg: &mut ModelConfig) {
    let mut section = s.section.clone();
    section.integ_weight = Some(s.integ_weight);
    section.kl_warmup_epochs = Some(s.kl_warmup_epochs);
    cfg.multigrate = Some(section);
}
