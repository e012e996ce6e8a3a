//! Model configuration: the single source of truth for a model.
//!
//! A [`ModelConfig`] is written by the user (Rust, JSON through the C ABI, or
//! the R/Julia wrappers): JSON keys not given take the defaults of the named
//! model kind, each written once in that model's file (`scvaeit.rs`,
//! `multigrate.rs`). [`ModelConfig::resolve`] fills what depends on the data
//! (modalities, block widths, weights, covariates) and returns a
//! [`ResolvedConfig`] with every setting explicit, which is what a model
//! holds and what checkpoints store (in `ModelConfig`'s JSON form).
//!
//! Fields that later versions add to a config carry a serde default that
//! means the behaviour of the versions before them, so a checkpoint that
//! lacks the field loads and computes as it did.

mod legacy;
mod multigrate;
mod resolved;
mod scvaeit;
mod train;

pub use multigrate::{
    Activation, AlignmentLoss, AlignmentType, ContCovType, Kernel, LatentMode, LayerNormKind, Mix,
    MultigrateConfig, MultigrateSettings,
};
pub use resolved::{
    ContinuousScaling, FamilySettings, ModelSettings, ResolvedConfig, ResolvedModality,
};
pub use scvaeit::{BlockWidths, MmdConfig, ScvaeitSettings};
pub use train::{InferenceConfig, InferenceNorm, LrSchedule, TrainConfig};

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

    /// Every default of this kind's config, as the JSON object a user's
    /// config is merged over.
    pub fn defaults(&self) -> serde_json::Value {
        match self {
            ModelKind::Scvaeit => scvaeit::defaults(),
            ModelKind::Multigrate => multigrate::defaults(),
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
    /// Fit the raw counts with totalVI's background/foreground negative
    /// binomial mixture (made for ADT counts; Multigrate, NB modalities; the
    /// input stays as `normalization` says). `None`: the likelihood's own model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nb_mixture: Option<NbMixture>,
}

/// totalVI's background/foreground negative-binomial mixture as a modality's
/// observation model (`distributions::mixture`). Its JSON form, every key
/// optional: `{"full_mean": bool, "prior_sd": number, "library": bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NbMixture {
    /// Imputation returns the whole mixture's mean, background included
    /// (`true`, the default: it imputed protein better on reap-impute's
    /// validation split), or only the foreground (`false`, totalVI's default).
    pub full_mean: bool,
    /// Standard deviation of the fixed normal prior on the log background
    /// mean, around its data-derived start (totalVI's rule gives ~0.05 on
    /// REAP-seq, which holds the background so tight that Multigrate's
    /// imputation fell; see docs/accuracy.md).
    pub prior_sd: f64,
    /// Scale both components by the cell's library relative to the median
    /// training library (`l_n / median`), as the NB of RNA is scaled, so that
    /// the latent need not carry the total count; imputation (the modality
    /// is then unmeasured) decodes at the median library. `false` (the
    /// default, and what a checkpoint without the key means): totalVI's
    /// model, no library offset.
    pub library: bool,
}

impl Default for NbMixture {
    fn default() -> Self {
        NbMixture {
            full_mean: true,
            prior_sd: 1.0,
            library: false,
        }
    }
}

/// Full model configuration (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Model family.
    pub model: ModelKind,
    /// Latent dimension `d`.
    pub latent_dim: usize,
    /// Hidden widths of the encoder trunk (the decoder uses them reversed).
    pub hidden: Vec<usize>,
    /// Per-modality settings (order = model order). Empty: all dataset modalities, defaults.
    pub modalities: Vec<ModalityConfig>,
    /// Names of the categorical covariates the model conditions on.
    /// `None`: all covariates of the training dataset. (Continuous covariates
    /// are not selected here: a model uses every continuous covariate of its
    /// training data, recorded in its schema.)
    #[serde(default)]
    pub covariates: Option<Vec<String>>,
    /// KL weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_kl: Option<f64>,
    /// Weight of the masked-prediction term; the observed term gets `1 - beta_unobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_unobs: Option<f64>,
    /// Weight of the reverse prediction term. `None`: 0.5 with two modalities, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_reverse: Option<f64>,
    /// Per-entry masking probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_feat: Option<f64>,
    /// Probabilities of masking each modality whole (model order). `None`: uniform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_modal: Option<Vec<f64>>,
    /// Add the encoder's block input layers to the decoder's block layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_conn: Option<bool>,
    /// Upper clip of dispersions / scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disp: Option<f64>,
    /// Optional MMD penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmd: Option<MmdConfig>,
    /// LeakyReLU negative slope (Keras default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaky_slope: Option<f64>,
    /// Batch-norm running-average weight of a new batch (Keras momentum 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bn_momentum: Option<f64>,
    /// Batch-norm epsilon (Keras 1e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bn_epsilon: Option<f64>,
    /// Training settings.
    pub train: TrainConfig,
    /// Inference settings.
    pub inference: InferenceConfig,
    /// Initial bias of the output layers (both models).
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

impl Default for ModelConfig {
    /// scVAEIT's defaults.
    fn default() -> Self {
        ModelConfig::for_kind(ModelKind::Scvaeit)
    }
}

/// Finite and > 0 (false for NaN).
pub(crate) fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Finite and >= 0 (false for NaN).
pub(crate) fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

/// The JSON patch that sets the option at the dotted path `key` (e.g.
/// `"train.epochs"`) to `value`: `{"train": {"epochs": value}}`. The one
/// place that expands dotted keys, for the C ABI and every binding.
pub fn patch_at(key: &str, value: serde_json::Value) -> Result<serde_json::Value> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(Error::config(format!(
            "config key '{key}' is not a dotted path such as \"train.epochs\""
        )));
    }
    Ok(key.rsplit('.').fold(value, |acc, part| {
        let mut m = serde_json::Map::new();
        m.insert(part.to_string(), acc);
        serde_json::Value::Object(m)
    }))
}

/// A user's config merged over its kind's defaults, as a [`ModelConfig`].
fn parse_merged(value: serde_json::Value) -> Result<ModelConfig> {
    let kind = json_kind(&value)?;
    if kind != ModelKind::Multigrate && value.get("multigrate").is_some_and(|m| !m.is_null()) {
        return Err(Error::config(format!(
            "the `multigrate` section is for model \"multigrate\" (this config is \"{}\")",
            kind.as_str()
        )));
    }
    serde_json::from_value(value).map_err(|e| Error::config(format!("config JSON: {e}")))
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
        let mut value = json_kind(&user)?.defaults();
        merge_json(&mut value, user);
        let c = parse_merged(value)?;
        c.validate_basic()?;
        Ok(c)
    }

    /// Parses the config stored in a checkpoint (by any released version):
    /// settings it lacks mean what the version that wrote it did (see
    /// `legacy.rs`); unknown keys and wrong types are errors.
    pub fn from_stored_json(json: &str) -> Result<Self> {
        let stored: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::config(format!("config JSON: {e}")))?;
        if !stored.is_object() {
            return Err(Error::config("config JSON must be an object"));
        }
        serde_json::from_value(legacy::fill(stored))
            .map_err(|e| Error::config(format!("config JSON: {e}")))
    }

    /// The default config of a model kind.
    pub fn for_kind(kind: ModelKind) -> ModelConfig {
        serde_json::from_value(kind.defaults()).expect("kind defaults are valid")
    }

    /// This config with a JSON object merged in (see [`merge_json`]), checked
    /// like [`ModelConfig::from_json`]; `self` is unchanged either way. A patch
    /// that changes the model kind starts from that kind's defaults (set the
    /// kind first, then the other fields).
    pub fn merged(&self, patch: serde_json::Value) -> Result<ModelConfig> {
        let mut value = serde_json::to_value(self).expect("config serializes");
        if patch.get("model").is_some() && json_kind(&patch)? != self.model {
            value = json_kind(&patch)?.defaults();
        }
        merge_json(&mut value, patch);
        let c = parse_merged(value)?;
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
        for (name, v) in [
            ("beta_unobs", self.beta_unobs),
            ("p_feat", self.p_feat),
            ("beta_reverse", self.beta_reverse),
            ("bn_momentum", self.bn_momentum),
        ] {
            if let Some(v) = v {
                unit(name, v)?;
            }
        }
        if let Some(v) = self.beta_kl.filter(|&v| !non_negative(v)) {
            return bad(format!("beta_kl must be >= 0, got {v}"));
        }
        if let Some(v) = self.max_disp.filter(|&v| !positive(v)) {
            return bad(format!("max_disp must be > 0, got {v}"));
        }
        if let Some(v) = self.leaky_slope.filter(|&v| !(0.0..1.0).contains(&v)) {
            return bad(format!("leaky_slope must be in [0, 1), got {v}"));
        }
        if let Some(v) = self.bn_epsilon.filter(|&v| !positive(v)) {
            return bad(format!("bn_epsilon must be > 0, got {v}"));
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
            if !(0.0..=1.0).contains(&mg.bn_momentum) || !positive(mg.bn_epsilon) {
                return bad(format!(
                    "multigrate.bn_momentum must be in [0, 1] and bn_epsilon > 0, got {} and {}",
                    mg.bn_momentum, mg.bn_epsilon
                ));
            }
            if !non_negative(mg.modality_alignment) {
                return bad(format!(
                    "multigrate.modality_alignment must be >= 0, got {}",
                    mg.modality_alignment
                ));
            }
            if !(mg.modality_dropout.is_finite() && (0.0..=1.0).contains(&mg.modality_dropout)) {
                return bad(format!(
                    "multigrate.modality_dropout must be in [0, 1], got {}",
                    mg.modality_dropout
                ));
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
            if let Some(mix) = m.nb_mixture {
                if !positive(mix.prior_sd) {
                    return bad(format!(
                        "modality '{}': nb_mixture.prior_sd must be > 0, got {}",
                        m.name, mix.prior_sd
                    ));
                }
            }
            if let Some(Normalization::LogNormalize { target_sum }) = m.normalization {
                if !positive(target_sum as f64) {
                    return bad(format!("modality '{}': target_sum must be > 0", m.name));
                }
            }
        }
        Ok(())
    }

    /// Fills every unset field from the dataset schema and checks
    /// consistency: the config of a new model on data with `schema`.
    pub fn resolve(&self, schema: &Schema) -> Result<ResolvedConfig> {
        self.validate_basic()?;
        for m in &self.modalities {
            if schema.modality(&m.name).is_none() {
                return Err(Error::NotFound(format!(
                    "config names modality '{}', which the data do not have (data: {})",
                    m.name,
                    schema.modality_names().join(", ")
                )));
            }
        }
        let cov_names: Vec<String> = schema.covariates.iter().map(|c| c.name.clone()).collect();
        let covariates = match &self.covariates {
            None => cov_names,
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
                list.clone()
            }
        };
        if let Some(m) = &self.mmd {
            if !covariates.contains(&m.covariate) {
                return Err(Error::NotFound(format!(
                    "mmd.covariate '{}' is not one of the model's covariates",
                    m.covariate
                )));
            }
        }
        let (modalities, model) = match self.model {
            ModelKind::Scvaeit => {
                let (m, s) = scvaeit::resolve(self, schema)?;
                (m, ModelSettings::Scvaeit(s))
            }
            ModelKind::Multigrate => {
                let (m, s) = multigrate::resolve(self, schema, &covariates)?;
                (m, ModelSettings::Multigrate(s))
            }
        };
        Ok(ResolvedConfig {
            latent_dim: self.latent_dim,
            hidden: self.hidden.clone(),
            modalities,
            covariates,
            train: self.train.clone(),
            inference: self.inference.clone(),
            head_bias: self.head_bias,
            model,
        })
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
        assert!((c.beta_unobs.unwrap() - 2.0 / 3.0).abs() < 1e-12);
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
