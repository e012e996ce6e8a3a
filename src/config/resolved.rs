//! A config resolved against a data schema: every setting explicit, no
//! `Option`s, per-model settings in their own types. This is what a model
//! holds and its network, objective and pipeline read; checkpoints store it
//! in the JSON form of [`ModelConfig`] ([`ResolvedConfig::to_config`]) and
//! read it back with [`ResolvedConfig::from_stored`].

use super::multigrate::{self, MultigrateSettings};
use super::scvaeit::{self, ScvaeitSettings};
use super::{
    HeadBias, InferenceConfig, ModalityConfig, ModelConfig, ModelKind, NbMixture, Normalization,
    TrainConfig,
};
use crate::data::Likelihood;

/// One modality's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedModality {
    /// Modality name.
    pub name: String,
    /// Observation model.
    pub likelihood: Likelihood,
    /// Loss weight.
    pub weight: f64,
    /// Input transform.
    pub normalization: Normalization,
    /// totalVI's NB mixture as the observation model (`None`: the likelihood's own).
    pub nb_mixture: Option<NbMixture>,
}

/// The settings only one model family has.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSettings {
    /// scVAEIT.
    Scvaeit(ScvaeitSettings),
    /// Multigrate.
    Multigrate(MultigrateSettings),
}

/// A model family's own settings type, taken out of [`ModelSettings`].
pub trait FamilySettings: Sized {
    /// These settings, when `m` holds this family's.
    fn of(m: &ModelSettings) -> Option<&Self>;
}

impl FamilySettings for ScvaeitSettings {
    fn of(m: &ModelSettings) -> Option<&Self> {
        match m {
            ModelSettings::Scvaeit(s) => Some(s),
            _ => None,
        }
    }
}

impl FamilySettings for MultigrateSettings {
    fn of(m: &ModelSettings) -> Option<&Self> {
        match m {
            ModelSettings::Multigrate(s) => Some(s),
            _ => None,
        }
    }
}

/// How a model takes its continuous covariates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContinuousScaling {
    /// z-scored with the training cells' mean and sd, NaN -> 0 (scVAEIT, as
    /// the reference's StandardScaler).
    Standardize,
    /// As they are (Multigrate); `non_negative`: the values must be >= 0
    /// (`logsigm` takes `log1p` of them).
    Raw {
        /// Values must be >= 0.
        non_negative: bool,
    },
}

impl ModelSettings {
    /// Whether `embed` returns one posterior sample per cell instead of the
    /// mean unless asked otherwise (Multigrate's `latent = "sample"`).
    pub fn embeds_samples(&self) -> bool {
        match self {
            ModelSettings::Scvaeit(_) => false,
            ModelSettings::Multigrate(s) => s.section.latent == super::LatentMode::Sample,
        }
    }

    /// Whether the decoder means of NB/ZINB modalities are proportions of
    /// the cell's library (Multigrate's softmax heads) rather than values on
    /// the input scale (scVAEIT).
    pub fn nb_means_are_proportions(&self) -> bool {
        matches!(self, ModelSettings::Multigrate(_))
    }

    /// How the model takes its continuous covariates.
    pub fn continuous_scaling(&self) -> ContinuousScaling {
        match self {
            ModelSettings::Scvaeit(_) => ContinuousScaling::Standardize,
            ModelSettings::Multigrate(s) => ContinuousScaling::Raw {
                non_negative: s.section.cont_cov_type == super::ContCovType::Logsigm,
            },
        }
    }
}

/// A resolved config (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedConfig {
    /// Latent dimension.
    pub latent_dim: usize,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Per modality, in schema order.
    pub modalities: Vec<ResolvedModality>,
    /// The categorical covariates the model conditions on, in schema order.
    pub covariates: Vec<String>,
    /// Training settings.
    pub train: TrainConfig,
    /// Inference settings.
    pub inference: InferenceConfig,
    /// Initial bias of the output layers.
    pub head_bias: HeadBias,
    /// The model family's own settings.
    pub model: ModelSettings,
}

impl ResolvedConfig {
    /// The model family.
    pub fn kind(&self) -> ModelKind {
        match self.model {
            ModelSettings::Scvaeit(_) => ModelKind::Scvaeit,
            ModelSettings::Multigrate(_) => ModelKind::Multigrate,
        }
    }

    /// scVAEIT's settings, when the model is scVAEIT.
    pub fn scvaeit(&self) -> Option<&ScvaeitSettings> {
        ScvaeitSettings::of(&self.model)
    }

    /// Multigrate's settings, when the model is Multigrate.
    pub fn multigrate(&self) -> Option<&MultigrateSettings> {
        MultigrateSettings::of(&self.model)
    }

    /// Loss weight of each modality.
    pub fn modality_weights(&self) -> Vec<f64> {
        self.modalities.iter().map(|m| m.weight).collect()
    }

    /// Likelihood of each modality.
    pub fn likelihoods(&self) -> Vec<Likelihood> {
        self.modalities.iter().map(|m| m.likelihood).collect()
    }

    /// The stored (JSON) form: a [`ModelConfig`] with every setting explicit.
    pub fn to_config(&self) -> ModelConfig {
        let mut cfg = ModelConfig::for_kind(self.kind());
        cfg.latent_dim = self.latent_dim;
        cfg.hidden = self.hidden.clone();
        cfg.covariates = Some(self.covariates.clone());
        cfg.train = self.train.clone();
        cfg.inference = self.inference.clone();
        cfg.head_bias = self.head_bias;
        cfg.modalities = self
            .modalities
            .iter()
            .map(|m| ModalityConfig {
                name: m.name.clone(),
                likelihood: Some(m.likelihood),
                weight: Some(m.weight),
                block_hidden: None,
                embed_dim: None,
                normalization: Some(m.normalization),
                nb_mixture: m.nb_mixture,
            })
            .collect();
        match &self.model {
            ModelSettings::Scvaeit(s) => scvaeit::store(s, &mut cfg),
            ModelSettings::Multigrate(s) => multigrate::store(s, &mut cfg),
        }
        cfg
    }

    /// A stored config (written by [`ResolvedConfig::to_config`], or by
    /// any released version); `None` when a setting is missing.
    pub fn from_stored(cfg: &ModelConfig) -> Option<ResolvedConfig> {
        let modalities = cfg
            .modalities
            .iter()
            .map(|m| {
                Some(ResolvedModality {
                    name: m.name.clone(),
                    likelihood: m.likelihood?,
                    weight: m.weight?,
                    normalization: m.normalization?,
                    nb_mixture: m.nb_mixture,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let model = match cfg.model {
            ModelKind::Scvaeit => ModelSettings::Scvaeit(scvaeit::from_stored(cfg)?),
            ModelKind::Multigrate => ModelSettings::Multigrate(multigrate::from_stored(cfg)?),
        };
        Some(ResolvedConfig {
            latent_dim: cfg.latent_dim,
            hidden: cfg.hidden.clone(),
            modalities,
            covariates: cfg.covariates.clone()?,
            train: cfg.train.clone(),
            inference: cfg.inference.clone(),
            head_bias: cfg.head_bias,
            model,
        })
    }
}
