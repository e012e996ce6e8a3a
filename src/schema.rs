//! The data-derived part of a model: modalities with their feature names and
//! blocks, categorical covariates with their levels, and continuous covariates
//! with their scaling. Stored in every checkpoint, and used to match new data
//! to the model by name.

use crate::data::{Block, Dataset, Likelihood};
use serde::{Deserialize, Serialize};

/// One modality as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalitySchema {
    /// Modality name.
    pub name: String,
    /// Observation model of the data it was built from.
    pub likelihood: Likelihood,
    /// Feature names, in model order.
    pub features: Vec<String>,
    /// Contiguous feature blocks.
    pub blocks: Vec<Block>,
}

impl ModalitySchema {
    /// Feature name -> position.
    pub fn feature_index(&self) -> std::collections::HashMap<&str, usize> {
        self.features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i))
            .collect()
    }
}

/// A categorical covariate and its levels (one-hot order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovariateSchema {
    /// Covariate name.
    pub name: String,
    /// Level names.
    pub levels: Vec<String>,
}

/// z-scoring of a continuous covariate: `(c - mean) / sd`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// Mean over the training cells (NaN values excluded).
    pub mean: f64,
    /// Population standard deviation over the training cells (1 when it is 0).
    pub sd: f64,
}

impl Standardization {
    /// sklearn's `StandardScaler` fitted on `values` (NaN ignored; a constant
    /// or all-NaN covariate gets sd 1, an all-NaN one mean 0).
    pub fn fit(values: &[f32]) -> Standardization {
        let (mut n, mut sum) = (0usize, 0f64);
        for &v in values.iter().filter(|v| !v.is_nan()) {
            n += 1;
            sum += v as f64;
        }
        if n == 0 {
            return Standardization { mean: 0.0, sd: 1.0 };
        }
        let mean = sum / n as f64;
        let var = values
            .iter()
            .filter(|v| !v.is_nan())
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let sd = var.sqrt();
        Standardization {
            mean,
            sd: if sd > 0.0 && sd.is_finite() { sd } else { 1.0 },
        }
    }
}

/// A continuous covariate as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinuousCovariateSchema {
    /// Covariate name.
    pub name: String,
    /// scVAEIT: the z-scoring fitted on the training cells; values enter as
    /// `(c - mean) / sd` and NaN as 0 (the training mean). `None`
    /// (Multigrate): values enter as they are, and NaN is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardization>,
    /// The values must be >= 0 (Multigrate's `logsigm` takes their `log1p`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_negative: bool,
}

/// Modalities and covariates of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Modalities in model order.
    pub modalities: Vec<ModalitySchema>,
    /// Categorical covariates the model conditions on.
    pub covariates: Vec<CovariateSchema>,
    /// Continuous covariates the model conditions on: all those of the
    /// training data (absent from checkpoints written before they existed,
    /// and from models without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continuous: Vec<ContinuousCovariateSchema>,
}

impl Schema {
    /// The schema of a dataset (all its modalities and covariates).
    pub fn from_dataset(data: &Dataset) -> Schema {
        Schema {
            modalities: data
                .modalities()
                .iter()
                .map(|m| ModalitySchema {
                    name: m.name().to_string(),
                    likelihood: m.likelihood(),
                    features: m.features().to_vec(),
                    blocks: m.blocks().to_vec(),
                })
                .collect(),
            covariates: data
                .covariates()
                .iter()
                .map(|c| CovariateSchema {
                    name: c.name.clone(),
                    levels: c.levels.clone(),
                })
                .collect(),
            continuous: data
                .continuous_covariates()
                .iter()
                .map(|c| ContinuousCovariateSchema {
                    name: c.name.clone(),
                    standardize: None,
                    non_negative: false,
                })
                .collect(),
        }
    }

    /// A modality by name.
    pub fn modality(&self, name: &str) -> Option<&ModalitySchema> {
        self.modalities.iter().find(|m| m.name == name)
    }

    /// Position of a modality.
    pub fn modality_index(&self, name: &str) -> Option<usize> {
        self.modalities.iter().position(|m| m.name == name)
    }

    /// Modality names in model order.
    pub fn modality_names(&self) -> Vec<String> {
        self.modalities.iter().map(|m| m.name.clone()).collect()
    }

    /// Total number of features over modalities.
    pub fn n_features(&self) -> usize {
        self.modalities.iter().map(|m| m.features.len()).sum()
    }

    /// Width of the one-hot covariate vector.
    pub fn n_covariate_columns(&self) -> usize {
        self.covariates.iter().map(|c| c.levels.len()).sum()
    }

    /// Number of continuous covariates.
    pub fn n_continuous(&self) -> usize {
        self.continuous.len()
    }

    /// Names of the continuous covariates, in model order.
    pub fn continuous_names(&self) -> Vec<String> {
        self.continuous.iter().map(|c| c.name.clone()).collect()
    }
}
