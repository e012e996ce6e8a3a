//! scVAEIT's settings: its defaults (written here once), the resolved form
//! the network and its objective read, and the resolution against a schema.
//!
//! Defaults follow the scVAEIT paper scripts (docs/models.md, scVAEIT §1.3):
//! trunk `[256]`, latent 32, per-block widths 256/128 (16 for per-chromosome
//! ATAC blocks), mask embeddings 32/16 (2), `beta_kl` 1, `beta_unobs` 2/3,
//! `beta_reverse` 0.5 with two modalities (0 otherwise), `p_feat` 0.2,
//! uniform `p_modal`, AdamW weight decay 1e-4, batch 512, 300 epochs, and
//! the learning rate of the paper's scripts, 1e-3 (the current package's
//! 3e-4 leaves 100-epoch runs undertrained). Two defaults are scmosaic's,
//! chosen on reap-impute v1 (docs/results.md): uniform modality weights, and
//! a cosine learning-rate decay to 5% over the epochs of a `fit` call.

use super::{non_negative, ModelConfig, Normalization, ResolvedModality};
use crate::data::Likelihood;
use crate::error::{Error, Result};
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// Every default of a scVAEIT config, as the JSON object a user's config is
/// merged over.
pub(super) fn defaults() -> serde_json::Value {
    serde_json::json!({
        "model": "scvaeit",
        "latent_dim": 32,
        "hidden": [256],
        "modalities": [],
        "beta_kl": 1.0,
        "beta_unobs": 2.0 / 3.0,
        "p_feat": 0.2,
        "skip_conn": false,
        "max_disp": 6.0,
        "leaky_slope": 0.3,
        "bn_momentum": 0.01,
        "bn_epsilon": 1e-3,
        "head_bias": "data",
        "train": {
            "epochs": 300,
            "batch_size": 512,
            "learning_rate": 1e-3,
            "lr_schedule": {"cosine": {"final_fraction": 0.05}},
            "weight_decay": 1e-4,
            "adam_epsilon": 1e-7,
            "grad_clip_norm": null,
            "seed": 0,
            "validation_fraction": 0.0,
            "patience": 10,
            "min_delta": 1e-4
        },
        "inference": {"batch_size": 256, "n_draws": 50, "batch_norm": "running"}
    })
}

/// MMD penalty between groups of a covariate on the latent mean
/// (docs/models.md, scVAEIT §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmdConfig {
    /// Covariate whose groups are aligned (must be one of the model's covariates).
    pub covariate: String,
    /// Weight at epoch 0 (default 2).
    #[serde(default = "d_mmd_gamma")]
    pub gamma: f64,
    /// `gamma(epoch) = gamma * decay^(epoch / decay_epochs)` (tutorial: 0.8 per 50 epochs).
    #[serde(default = "d_mmd_decay")]
    pub decay: f64,
    /// See `decay`.
    #[serde(default = "d_mmd_decay_epochs")]
    pub decay_epochs: f64,
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

/// Layer widths of one modality's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockWidths {
    /// Width of each block's encoder input and decoder output layers.
    pub hidden: usize,
    /// Width of each block's mask embedding.
    pub embed: usize,
}

/// scVAEIT's resolved settings (every value explicit).
#[derive(Debug, Clone, PartialEq)]
pub struct ScvaeitSettings {
    /// KL weight.
    pub beta_kl: f64,
    /// Weight of the masked-prediction term.
    pub beta_unobs: f64,
    /// Weight of the reverse prediction term.
    pub beta_reverse: f64,
    /// Optional MMD penalty.
    pub mmd: Option<MmdConfig>,
    /// Per-entry masking probability.
    pub p_feat: f64,
    /// Probabilities of masking each modality whole (model order, sum 1).
    pub p_modal: Vec<f64>,
    /// Per modality: block widths.
    pub blocks: Vec<BlockWidths>,
    /// Skip connections from encoder to decoder blocks.
    pub skip_conn: bool,
    /// Upper clip of dispersions / scales.
    pub max_disp: f64,
    /// LeakyReLU negative slope.
    pub leaky_slope: f64,
    /// Batch-norm running-average weight of a new batch.
    pub bn_momentum: f64,
    /// Batch-norm epsilon.
    pub bn_epsilon: f64,
}

/// `cfg`'s value of a setting, or the default's when unset.
fn or_default<T>(cfg: &ModelConfig, field: impl Fn(&ModelConfig) -> Option<T>) -> T {
    field(cfg).unwrap_or_else(|| {
        let d: ModelConfig =
            serde_json::from_value(defaults()).expect("scVAEIT defaults are a valid config");
        field(&d).expect("scVAEIT defaults set every field")
    })
}

/// Per-modality defaults: uniform weights; block widths 16 / embedding 2 for
/// modalities split into several blocks, else 256/32 with >= 1000 features
/// and 128/16 below; `log_normalize` (1e4) for NB/ZINB, `binarize` for
/// Bernoulli, `none` otherwise.
pub(super) fn resolve(
    cfg: &ModelConfig,
    schema: &Schema,
) -> Result<(Vec<ResolvedModality>, ScvaeitSettings)> {
    let n_mod = schema.modalities.len();
    let uniform = 1.0 / n_mod as f64;
    let mut modalities = Vec::with_capacity(n_mod);
    let mut blocks = Vec::with_capacity(n_mod);
    for ms in &schema.modalities {
        let user = cfg.modality(&ms.name).cloned().unwrap_or_default();
        let multi = ms.blocks.len() > 1;
        let big = ms.features.len() >= 1000;
        let likelihood = user.likelihood.unwrap_or(ms.likelihood);
        if user.nb_mixture.is_some() {
            return Err(crate::error::Error::config(format!(
                "modality '{}': nb_mixture is a Multigrate observation model in this version \
                 (scVAEIT's heads fit bounded NB means on the input scale)",
                ms.name
            )));
        }
        modalities.push(ResolvedModality {
            name: ms.name.clone(),
            likelihood,
            weight: user.weight.unwrap_or(uniform),
            normalization: user.normalization.unwrap_or(match likelihood {
                Likelihood::Nb | Likelihood::Zinb => {
                    Normalization::LogNormalize { target_sum: 1e4 }
                }
                Likelihood::Bernoulli => Normalization::Binarize,
                Likelihood::Gaussian | Likelihood::Poisson => Normalization::None,
            }),
            nb_mixture: None,
        });
        blocks.push(BlockWidths {
            hidden: user.block_hidden.unwrap_or(if multi {
                16
            } else if big {
                256
            } else {
                128
            }),
            embed: user.embed_dim.unwrap_or(if multi {
                2
            } else if big {
                32
            } else {
                16
            }),
        });
    }
    let p = cfg
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
    let settings = ScvaeitSettings {
        beta_kl: or_default(cfg, |c| c.beta_kl),
        beta_unobs: or_default(cfg, |c| c.beta_unobs),
        beta_reverse: cfg
            .beta_reverse
            .unwrap_or(if n_mod == 2 { 0.5 } else { 0.0 }),
        p_feat: or_default(cfg, |c| c.p_feat),
        p_modal: p.iter().map(|v| v / sum).collect(),
        skip_conn: or_default(cfg, |c| c.skip_conn),
        max_disp: or_default(cfg, |c| c.max_disp),
        mmd: cfg.mmd.clone(),
        leaky_slope: or_default(cfg, |c| c.leaky_slope),
        bn_momentum: or_default(cfg, |c| c.bn_momentum),
        bn_epsilon: or_default(cfg, |c| c.bn_epsilon),
        blocks,
    };
    Ok((modalities, settings))
}

/// The settings of a stored (already resolved) config, or `None` when a
/// setting is missing (a config no released version wrote).
pub(super) fn from_stored(cfg: &ModelConfig) -> Option<ScvaeitSettings> {
    Some(ScvaeitSettings {
        beta_kl: cfg.beta_kl?,
        beta_unobs: cfg.beta_unobs?,
        beta_reverse: cfg.beta_reverse?,
        p_feat: cfg.p_feat?,
        p_modal: cfg.p_modal.clone()?,
        skip_conn: cfg.skip_conn?,
        max_disp: cfg.max_disp?,
        mmd: cfg.mmd.clone(),
        leaky_slope: cfg.leaky_slope?,
        bn_momentum: cfg.bn_momentum?,
        bn_epsilon: cfg.bn_epsilon?,
        blocks: cfg
            .modalities
            .iter()
            .map(|m| {
                Some(BlockWidths {
                    hidden: m.block_hidden?,
                    embed: m.embed_dim?,
                })
            })
            .collect::<Option<_>>()?,
    })
}

/// Writes the settings back into the stored (JSON) form.
pub(super) fn store(s: &ScvaeitSettings, cfg: &mut ModelConfig) {
    cfg.beta_kl = Some(s.beta_kl);
    cfg.beta_unobs = Some(s.beta_unobs);
    cfg.beta_reverse = Some(s.beta_reverse);
    cfg.p_feat = Some(s.p_feat);
    cfg.p_modal = Some(s.p_modal.clone());
    cfg.skip_conn = Some(s.skip_conn);
    cfg.max_disp = Some(s.max_disp);
    cfg.mmd = s.mmd.clone();
    cfg.leaky_slope = Some(s.leaky_slope);
    cfg.bn_momentum = Some(s.bn_momentum);
    cfg.bn_epsilon = Some(s.bn_epsilon);
    for (m, b) in cfg.modalities.iter_mut().zip(&s.blocks) {
        m.block_hidden = Some(b.hidden);
        m.embed_dim = Some(b.embed);
    }
}
