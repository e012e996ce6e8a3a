//! The data-derived part of a model: modalities with their feature names and
//! blocks, and covariates with their levels. Stored in every checkpoint, and
//! used to match new data to the model by name.

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

/// Modalities and covariates of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Modalities in model order.
    pub modalities: Vec<ModalitySchema>,
    /// Covariates the model conditions on.
    pub covariates: Vec<CovariateSchema>,
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
}
